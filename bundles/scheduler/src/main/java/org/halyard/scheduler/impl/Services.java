package org.halyard.scheduler.impl;

import org.halyard.kvcache.api.KvCacheManager;
import org.halyard.safety.api.KillSwitch;
import org.halyard.telemetry.api.Telemetry;

/**
 * What a loop reads from its scheduler once per step: the settings in force and the optional
 * providers, each possibly null (absent, or being replaced).
 */
interface Services {

    Settings settings();

    KvCacheManager kvCacheManager();

    Telemetry telemetry();

    KillSwitch killSwitch();

    /** The cache of this model version from this manager, shared by the loops of one version. */
    CacheLease leaseCache(EngineLoop loop, KvCacheManager manager);

    /** Gives a lease back; the last holder closes the cache. */
    void returnCache(CacheLease lease);
}
