package org.halyard.shell;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import org.apache.karaf.shell.api.action.Command;
import org.apache.karaf.shell.api.action.lifecycle.Service;
import org.apache.karaf.shell.support.table.ShellTable;
import org.halyard.core.api.Health;
import org.halyard.core.api.HealthContributor;
import org.halyard.engine.api.InferenceEngine;
import org.halyard.engine.api.Model;
import org.halyard.engine.api.ModelInfo;
import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;

/**
 * {@code halyard:status}: the Halyard bundles and their states, the Halyard services registered,
 * the health of every component and the models served.
 */
@Command(scope = "halyard", name = "status", description = "Shows Halyard's bundles, services, health and models")
@Service
public class StatusCommand extends HalyardCommandSupport {

    /** Bundles whose symbolic name starts with this are Halyard's. */
    static final String PREFIX = "org.halyard.";

    @Override
    public Object execute() {
        System.out.println("Bundles");
        ShellTable bundles = new ShellTable().emptyTableText("no Halyard bundles installed");
        bundles.column("ID").alignRight();
        bundles.column("State");
        bundles.column("Bundle");
        bundles.column("Version");
        for (Bundle b : bundleContext.getBundles()) {
            if (b.getSymbolicName() != null && b.getSymbolicName().startsWith(PREFIX)) {
                bundles.addRow().addContent(b.getBundleId(), state(b.getState()), b.getSymbolicName(), b.getVersion());
            }
        }
        bundles.print(System.out, !noFormat);

        System.out.println();
        System.out.println("Services");
        Map<String, Integer> counts = new TreeMap<>();
        for (Bundle b : bundleContext.getBundles()) {
            ServiceReference<?>[] regs = b.getRegisteredServices();
            if (regs == null || b.getSymbolicName() == null || !b.getSymbolicName().startsWith(PREFIX)) {
                continue;
            }
            for (ServiceReference<?> r : regs) {
                for (String c : (String[]) r.getProperty(Constants.OBJECTCLASS)) {
                    counts.merge(c, 1, Integer::sum);
                }
            }
        }
        ShellTable services = new ShellTable().emptyTableText("no services registered by Halyard bundles");
        services.column("Service");
        services.column("Count").alignRight();
        counts.forEach((k, v) -> services.addRow().addContent(k, v));
        services.print(System.out, !noFormat);

        System.out.println();
        System.out.println("Engines");
        ShellTable engines = new ShellTable().emptyTableText("no engine registered");
        engines.column("Engine");
        engines.column("Bundle");
        for (Found<InferenceEngine> e : services(InferenceEngine.class, null)) {
            engines.addRow().addContent(e.service().name(), e.reference().getBundle().getSymbolicName()
                    + " " + e.reference().getBundle().getVersion());
        }
        engines.print(System.out, !noFormat);

        System.out.println();
        System.out.println("Health");
        ShellTable health = new ShellTable().emptyTableText("no component reports health");
        health.column("Component");
        health.column("Status");
        health.column("Ready");
        health.column("Detail");
        for (Found<HealthContributor> c : services(HealthContributor.class, null)) {
            try {
                for (Health h : c.service().health()) {
                    health.addRow().addContent(h.component(), h.status(), h.ready() ? "yes" : "no", h.detail());
                }
            } catch (RuntimeException ex) {
                health.addRow().addContent(c.service().getClass().getName(), Health.Status.DOWN, "no",
                        "health check failed: " + ex);
            }
        }
        health.print(System.out, !noFormat);

        System.out.println();
        System.out.println("Models");
        ShellTable models = new ShellTable().emptyTableText("no model served");
        models.column("Model");
        models.column("Architecture");
        models.column("Weights");
        models.column("Parameters").alignRight();
        models.column("Context").alignRight();
        models.column("Engine");
        models.column("Version");
        for (Found<Model> m : services(Model.class, null)) {
            ModelInfo i = m.service().info();
            models.addRow().addContent(m.property(Model.NAME), i.architecture()
                    + (i.isMixtureOfExperts() ? " (MoE " + i.expertsUsed() + "/" + i.experts() + ")" : ""),
                    i.weightType(), i.parameters(), i.contextLength(),
                    m.property(InferenceEngine.ENGINE), shortVersion(i.version()));
        }
        models.print(System.out, !noFormat);
        return null;
    }

    static String shortVersion(String v) {
        return v.length() > 16 ? v.substring(0, 16) : v;
    }

    static String state(int s) {
        return switch (s) {
            case Bundle.ACTIVE -> "Active";
            case Bundle.RESOLVED -> "Resolved";
            case Bundle.INSTALLED -> "Installed";
            case Bundle.STARTING -> "Starting";
            case Bundle.STOPPING -> "Stopping";
            default -> Arrays.toString(new int[] {s});
        };
    }
}
