package org.hysparse.cli;

import java.io.PrintWriter;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** A progress bar on a terminal; plain lines otherwise (pipes, CI, tests). */
final class Progress implements HySparseRun.Progress, AutoCloseable {
    private final PrintWriter err;
    private final boolean tty;
    private ProgressBar bar;
    private String phase = "";
    private int lastPercent = -1;

    Progress(PrintWriter err) {
        this.err = err;
        java.io.Console console = System.console();
        this.tty = console != null && console.isTerminal();
    }

    @Override
    public void step(String name, int done, int total) {
        if (!name.equals(phase)) {
            close();
            phase = name;
            lastPercent = -1;
            if (tty) bar = new ProgressBarBuilder().setTaskName(name).setInitialMax(total).setStyle(ProgressBarStyle.ASCII).build();
        }
        if (bar != null) {
            bar.stepTo(done);
        } else {
            int percent = (int) (100L * done / Math.max(1, total));
            if (percent / 25 != lastPercent / 25 || done == total) {
                err.println(name + ": " + done + "/" + total);
                err.flush();
                lastPercent = percent;
            }
        }
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}
