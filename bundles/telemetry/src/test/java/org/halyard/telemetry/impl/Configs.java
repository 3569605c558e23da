package org.halyard.telemetry.impl;

import java.lang.reflect.Proxy;
import java.util.Map;

/** Instances of a component's configuration annotation: defaults, with some values overridden. */
final class Configs {

    private Configs() {
    }

    static <T> T of(Class<T> type, Map<String, Object> values) {
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (proxy, method, args) -> {
            if (values.containsKey(method.getName())) {
                return values.get(method.getName());
            }
            if (method.getDefaultValue() != null) {
                return method.getDefaultValue();
            }
            if (method.getName().equals("annotationType")) {
                return type;
            }
            if (method.getName().equals("toString")) {
                return type.getSimpleName() + values;
            }
            if (method.getName().equals("hashCode")) {
                return System.identityHashCode(proxy);
            }
            if (method.getName().equals("equals")) {
                return proxy == args[0];
            }
            throw new IllegalStateException("no value for " + method.getName());
        }));
    }
}
