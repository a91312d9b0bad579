package org.hysparse.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code hysparse} command. Bad input: one line on stderr, exit code 2, stack trace only with --verbose. */
@Command(name = "hysparse", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "HySparse attention: full layers as oracles, sparse layers on their shared KV cache.",
        footer = {"", "Environment (read by the cli/bin/hysparse launcher):",
                "  HYSPARSE_BACKEND      backend to use when --backend is not given (or -Dhysparse.backend=NAME)",
                "  HYSPARSE_CLASSPATH    extra jars, e.g. a third-party backend; switching backend = changing the classpath",
                "  HYSPARSE_JAVA_OPTS    extra JVM flags, e.g. -Xmx8g",
                "  TORNADOVM_HOME        a TornadoVM SDK: adds the tornado backend and TornadoVM's JVM flags"},
        subcommands = {BackendsCommand.class, RunCommand.class, ServeCommand.class, ConformanceCommand.class, BenchCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT, description = "Print stack traces on errors.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the command with the given streams; returns the exit code. In-process tests call this. */
    static int execute(String[] args, PrintWriter out, PrintWriter err) {
        Main main = new Main();
        CommandLine cl = new CommandLine(main);
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            boolean usage = e instanceof IllegalArgumentException;
            err.println("hysparse: " + e.getMessage());
            if (main.verbose) e.printStackTrace(err);
            else if (!usage) err.println("(run with --verbose for the stack trace)");
            err.flush();
            return usage ? 2 : 1;
        });
        return cl.execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws Exception {
            java.util.Properties p = new java.util.Properties();
            try (var in = Main.class.getResourceAsStream("/hysparse-version.properties")) {
                if (in != null) p.load(in);
            }
            return new String[] {"hysparse " + p.getProperty("version", "dev") + " (Java " + Runtime.version() + ")"};
        }
    }
}
