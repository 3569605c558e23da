package org.halyard.engine.cpu.cli;

import org.halyard.kvcache.api.KvCacheManager;

/**
 * KV Cache++ for the command line: the {@code kvcache} bundle used as a plain library
 * ({@code new PagedKvCacheManager(KvCacheSettings.defaults())}), found on the command line's
 * classpath. Looked up by name so that the engine bundle does not import KV Cache++'s private
 * implementation package: inside Karaf the engine only ever sees the {@code KvSequence}s a
 * scheduler hands it.
 */
final class KvCaches {

    static final String MANAGER = "org.halyard.kvcache.impl.PagedKvCacheManager";
    static final String SETTINGS = "org.halyard.kvcache.impl.KvCacheSettings";

    private KvCaches() {
    }

    static KvCacheManager manager() {
        try {
            Class<?> settings = Class.forName(SETTINGS);
            Object defaults = settings.getMethod("defaults").invoke(null);
            Class<?> manager = Class.forName(MANAGER);
            return (KvCacheManager) manager.getConstructor(settings).newInstance(defaults);
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException("KV Cache++ (the kvcache bundle) is not on the classpath: " + e.getMessage());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot create KV Cache++'s manager: " + e, e);
        }
    }

    static boolean available() {
        try {
            Class.forName(MANAGER);
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

}
