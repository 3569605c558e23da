package org.halyard.shell;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.apache.karaf.shell.api.action.Action;
import org.apache.karaf.shell.api.action.Option;
import org.apache.karaf.shell.api.action.lifecycle.Reference;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;

/**
 * What every {@code halyard:} command shares: the bundle context to find services with, and the
 * {@code --no-format} option. Setters let unit tests run commands without a container.
 */
public abstract class HalyardCommandSupport implements Action {

    @Reference
    protected BundleContext bundleContext;

    @Option(name = "--no-format", description = "Plain output without table borders, for scripts")
    protected boolean noFormat;

    public void setBundleContext(BundleContext bundleContext) {
        this.bundleContext = bundleContext;
    }

    public void setNoFormat(boolean noFormat) {
        this.noFormat = noFormat;
    }

    /** A service object with its reference, looked up now. */
    protected record Found<T>(T service, ServiceReference<T> reference) {
        public Object property(String key) {
            return reference.getProperty(key);
        }
    }

    /** Every service of a type registered now (optionally filtered). */
    protected <T> List<Found<T>> services(Class<T> type, String filter) {
        List<Found<T>> found = new ArrayList<>();
        Collection<ServiceReference<T>> refs;
        try {
            refs = bundleContext.getServiceReferences(type, filter);
        } catch (InvalidSyntaxException e) {
            throw new IllegalArgumentException("bad filter " + filter, e);
        }
        for (ServiceReference<T> r : refs) {
            T s = bundleContext.getService(r);
            if (s != null) {
                found.add(new Found<>(s, r));
                // released at once: the command holds the object only while it prints
                bundleContext.ungetService(r);
            }
        }
        return found;
    }
}
