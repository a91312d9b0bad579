package org.hysparse.conformance;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Writes reports as JUnit XML, one file per backend and precision, for CI dashboards. */
public final class JUnitXml {
    private JUnitXml() {
    }

    public static List<Path> write(List<ConformanceReport> reports, Path dir) throws IOException {
        Files.createDirectories(dir);
        java.util.ArrayList<Path> written = new java.util.ArrayList<>();
        for (ConformanceReport r : reports) {
            String suite = "hysparse.conformance." + r.backend() + "." + r.precision().shortName();
            StringBuilder sb = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
            double seconds = r.results().stream().mapToLong(RuleResult::millis).sum() / 1000.0;
            sb.append("<testsuite name=\"").append(esc(suite)).append("\" tests=\"").append(r.results().size())
                    .append("\" failures=\"").append(r.count(RuleResult.Status.FAILED)).append("\" errors=\"0\" skipped=\"")
                    .append(r.count(RuleResult.Status.SKIPPED)).append("\" time=\"").append(seconds).append("\">\n");
            for (RuleResult rr : r.results()) {
                sb.append("  <testcase classname=\"").append(esc(suite)).append("\" name=\"").append(esc(rr.rule().id() + " " + rr.rule().title()))
                        .append("\" time=\"").append(rr.millis() / 1000.0).append("\"");
                switch (rr.status()) {
                    case PASSED -> sb.append("/>\n");
                    case FAILED -> sb.append(">\n    <failure message=\"").append(esc(rr.message())).append("\"/>\n  </testcase>\n");
                    case SKIPPED -> sb.append(">\n    <skipped message=\"").append(esc(rr.message())).append("\"/>\n  </testcase>\n");
                }
            }
            sb.append("</testsuite>\n");
            Path file = dir.resolve("TEST-" + suite + ".xml");
            Files.writeString(file, sb, StandardCharsets.UTF_8);
            written.add(file);
        }
        return written;
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
