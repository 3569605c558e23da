package org.halyard.itest;

import static org.ops4j.pax.exam.CoreOptions.maven;
import static org.ops4j.pax.exam.CoreOptions.mavenBundle;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;
import static org.ops4j.pax.exam.CoreOptions.vmOption;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.configureConsole;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.karafDistributionConfiguration;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.logLevel;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.PrivilegedExceptionAction;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import javax.inject.Inject;
import javax.security.auth.Subject;
import org.apache.karaf.jaas.boot.principal.RolePrincipal;
import org.apache.karaf.jaas.boot.principal.UserPrincipal;
import org.apache.karaf.shell.api.console.Session;
import org.apache.karaf.shell.api.console.SessionFactory;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.karaf.options.LogLevelOption.LogLevel;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

/**
 * Boots the Halyard distribution the build just assembled, on a free port, and offers HTTP and
 * shell helpers to the tests that run inside it.
 */
public abstract class HalyardTestSupport {

    /** The system property (set in the container's etc/system.properties) holding the HTTP port. */
    static final String PORT_PROPERTY = "halyard.it.port";

    @Inject
    protected BundleContext bundleContext;

    @Inject
    protected SessionFactory sessionFactory;

    /** The container configuration; runs in the driver JVM. */
    protected static Option[] distribution(Option... extra) {
        String port = Integer.toString(freePort());
        File tar = new File(System.getProperty("halyard.distribution"));
        List<Option> options = new java.util.ArrayList<>(List.of(
                karafDistributionConfiguration().frameworkUrl(tar.toURI().toString())
                        .karafVersion(System.getProperty("karaf.version", "4.4.10")).name("halyard")
                        .unpackDirectory(new File("target/exam")).useDeployFolder(false),
                configureConsole().ignoreLocalConsole().ignoreRemoteShell(),
                logLevel(LogLevel.WARN),
                org.ops4j.pax.exam.CoreOptions.systemTimeout(180_000),
                editConfigurationFilePut("etc/org.ops4j.pax.web.cfg", "org.osgi.service.http.port", port),
                // free ports for SSH and JMX too, so that containers of parallel builds do not clash
                editConfigurationFilePut("etc/org.apache.karaf.shell.cfg", "sshPort", Integer.toString(freePort())),
                editConfigurationFilePut("etc/org.apache.karaf.management.cfg", "rmiRegistryPort",
                        Integer.toString(freePort())),
                editConfigurationFilePut("etc/org.apache.karaf.management.cfg", "rmiServerPort",
                        Integer.toString(freePort())),
                // the port travels to the container JVM, where the tests read it
                editConfigurationFilePut("etc/system.properties", PORT_PROPERTY, port),
                editConfigurationFilePut("etc/system.properties", "halyard.root",
                        System.getProperty("halyard.root", new File("..").getAbsolutePath())),
                editConfigurationFilePut("etc/org.ops4j.pax.url.mvn.cfg", "org.ops4j.pax.url.mvn.localRepository",
                        System.getProperty("halyard.localRepository")),
                vmOption("--add-modules"), vmOption("jdk.incubator.vector"),
                vmOption("-Djdk.util.zip.disableZip64ExtraFieldValidation=true"),
                vmOption("-Xmx2g"),
                systemProperty("pax.exam.osgi.unresolved.fail").value("true")));
        options.addAll(Arrays.asList(extra));
        return options.toArray(new Option[0]);
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The base URL of the REST API in the container. */
    protected static String baseUrl() {
        return "http://127.0.0.1:" + System.getProperty(PORT_PROPERTY);
    }

    protected static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** GET a path; returns status and body. */
    protected static HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(baseUrl() + path)).timeout(Duration.ofSeconds(30)).GET()
                .build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    /** POST JSON to a path; returns status and body. */
    protected static HttpResponse<String> post(String path, String json) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create(baseUrl() + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8)).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    /** Polls a path until it answers with the status, or fails after the timeout. */
    protected static HttpResponse<String> awaitStatus(String path, int status, Duration timeout) throws Exception {
        long end = System.nanoTime() + timeout.toNanos();
        HttpResponse<String> last = null;
        Exception error = null;
        while (System.nanoTime() < end) {
            try {
                last = get(path);
                if (last.statusCode() == status) {
                    return last;
                }
            } catch (IOException e) {
                error = e;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("GET " + path + " did not answer " + status + " within " + timeout + "; last: "
                + (last == null ? String.valueOf(error) : last.statusCode() + " " + last.body()));
    }

    /** Runs a shell command as the Karaf console would and returns what it printed. */
    protected String shell(String command) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        Session session = sessionFactory.create(System.in, out, out);
        try {
            // commands guarded by Karaf's ACLs (bundle:update, ...) are visible to admins only
            Subject admin = new Subject();
            admin.getPrincipals().add(new UserPrincipal("karaf"));
            for (String role : List.of("admin", "manager", "viewer", "systembundles")) {
                admin.getPrincipals().add(new RolePrincipal(role));
            }
            Object result = Subject.doAs(admin, (PrivilegedExceptionAction<Object>) () -> session.execute(command));
            if (result != null) {
                session.getConsole().println(String.valueOf(result));
            }
        } finally {
            out.flush();
            session.close();
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /** Every Halyard bundle installed now. */
    protected List<Bundle> halyardBundles() {
        return Arrays.stream(bundleContext.getBundles())
                .filter(b -> b.getSymbolicName() != null && b.getSymbolicName().startsWith("org.halyard."))
                .collect(Collectors.toList());
    }

    /** Waits until every Halyard bundle is active, or fails naming those that are not. */
    protected void awaitHalyardActive(Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        List<Bundle> inactive = List.of();
        while (System.nanoTime() < end) {
            inactive = halyardBundles().stream().filter(b -> b.getState() != Bundle.ACTIVE).collect(Collectors.toList());
            if (inactive.isEmpty()) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("not active: " + inactive.stream().map(b -> b.getSymbolicName() + "=" + b.getState())
                .collect(Collectors.joining(", ")));
    }

    /** Pax Exam's own bundles need nothing else; kept for tests that add bundles. */
    protected static Option examBundle(String groupId, String artifactId) {
        return mavenBundle(maven(groupId, artifactId).versionAsInProject());
    }
}
