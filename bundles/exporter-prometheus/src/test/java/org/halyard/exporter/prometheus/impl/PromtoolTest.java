package org.halyard.exporter.prometheus.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Runs Prometheus' own linter, {@code promtool check metrics}, on what /metrics serves for a
 * registry holding every family of Halyard's catalogue. promtool comes from Debian's
 * {@code prometheus} package (.ci/run installs it). Without it the test is skipped on a
 * developer's machine and fails in CI (CI=true).
 */
class PromtoolTest {

    static String promtool() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
            Path p = Path.of(dir, "promtool");
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }

    @Test
    void promtoolFindsNothingToComplainAbout() throws Exception {
        String promtool = promtool();
        if (promtool == null) {
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail("promtool is not installed; CI must have it (apt-get install prometheus, see .ci/run)");
            }
            assumeTrue(false, "promtool not found on PATH: skipping (apt-get install prometheus to run this test)");
        }
        String exposition = PrometheusTextFormatWriter.create().toDebugString(
                RegistryCollector.collect(SampleRegistry.create(), n -> true), EscapingScheme.UNDERSCORE_ESCAPING);
        Path out = Path.of(System.getProperty("halyard.promtool.out", "target/promtool-metrics.txt"));
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, exposition, StandardCharsets.UTF_8);

        Process p = new ProcessBuilder(promtool, "check", "metrics").redirectErrorStream(true)
                .redirectInput(out.toFile()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "promtool did not finish");
        String report = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        System.out.println("promtool check metrics on " + exposition.lines().count() + " lines: exit "
                + p.exitValue() + (report.isBlank() ? ", no findings" : "\n" + report));
        assertEquals("", report.trim(), "promtool findings");
        assertEquals(0, p.exitValue());
    }
}
