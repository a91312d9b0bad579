package org.hysparse.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import org.hysparse.api.OutOfHeapException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code hysparse} command. Bad input (options, files): one line on stderr, exit code 2. Other failures, a run
 * that does not fit the heap included: one line, exit code 1. Stack traces only with --verbose.
 */
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
        // A malformed command line: one line naming the problem and where the help is, exit 2 (picocli would print
        // the whole usage, fifty lines that bury the one that matters).
        cl.setParameterExceptionHandler((e, argv) -> {
            err.println("hysparse: " + e.getMessage() + " (see '" + e.getCommandLine().getCommandSpec().qualifiedName() + " --help')");
            err.flush();
            return 2;
        });
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            int code = exitCode(e);
            err.println("hysparse: " + message(e));
            if (main.verbose) e.printStackTrace(err);
            else if (code == 1 && !(e instanceof CliFailure) && !(e instanceof OutOfHeapException)) {
                err.println("(run with --verbose for the stack trace)");
            }
            err.flush();
            return code;
        });
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) {
            // Not a buffer the library sized (those throw OutOfHeapException): one line all the same, never a trace.
            err.println("hysparse: out of Java heap (max " + ReportFormat.bytes(Runtime.getRuntime().maxMemory()) + "): " + e.getMessage()
                    + "; remedies: --kv fp16, a larger heap (HYSPARSE_JAVA_OPTS=-Xmx<size>), a shorter --context");
            err.flush();
            return 1;
        }
    }

    /** 2 for bad input (arguments, files), 1 for anything else; a CliFailure carries its own. */
    static int exitCode(Exception e) {
        if (e instanceof CliFailure f) return f.exitCode();
        return e instanceof IllegalArgumentException || e instanceof IOException || e instanceof UncheckedIOException ? 2 : 1;
    }

    /** The one line: a file error says which file and why (Java's own message is only the path). */
    static String message(Exception e) {
        Throwable t = e instanceof UncheckedIOException u ? u.getCause() : e;
        if (t instanceof FileSystemException f) {
            String why = f instanceof NoSuchFileException ? "no such file or directory"
                    : f instanceof AccessDeniedException ? "permission denied"
                    : f instanceof FileAlreadyExistsException ? "already exists" : String.valueOf(f.getReason());
            return "cannot use file " + f.getFile() + (f.getOtherFile() != null ? " (" + f.getOtherFile() + ")" : "") + ": " + why;
        }
        if (t instanceof IOException io) return "I/O error: " + io.getMessage();
        return String.valueOf(e.getMessage());
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
