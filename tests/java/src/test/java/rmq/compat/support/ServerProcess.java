package rmq.compat.support;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** One server process (NameServer or Broker) with its config file, data dir and output log. */
public abstract class ServerProcess {
    public final String name;
    public final Path dir;
    public final int port;
    private Process process;
    private int starts;

    protected ServerProcess(String name, Path dir, int port) {
        this.name = name;
        this.dir = dir;
        this.port = port;
    }

    /** "127.0.0.1:port" */
    public String addr() {
        return "127.0.0.1:" + port;
    }

    /** The command line to launch (config files are written by {@link #writeConfig()}). */
    protected abstract List<String> command() throws IOException;

    protected abstract void writeConfig() throws IOException;

    /** Extra readiness condition after the port accepts connections. */
    protected void awaitReady() {}

    public Path logFile() {
        return dir.resolve(name + ".out");
    }

    public synchronized void start() {
        if (isAlive()) {
            throw new IllegalStateException(name + " already running");
        }
        try {
            Files.createDirectories(dir);
            writeConfig();
            List<String> cmd = command();
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()));
            environment(pb.environment());
            String shown = cmd.stream().map(a -> a.length() > 300 ? a.substring(0, 120) + "...(" + a.length() + " chars)" : a)
                .collect(java.util.stream.Collectors.joining(" "));
            Files.writeString(logFile(), "\n===== start #" + (++starts) + ": " + shown + "\n",
                StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.APPEND);
            process = pb.start();
        } catch (IOException e) {
            throw new RuntimeException("cannot start " + name + ": " + e, e);
        }
        try {
            if (!Wait.until(Duration.ofSeconds(30), 100, () -> !isAlive() || portOpen(port)) || !isAlive()) {
                throw new IllegalStateException(name + " did not open port " + port + " within 30 s (alive="
                    + isAlive() + ")");
            }
            awaitReady();
        } catch (RuntimeException | Error e) {
            String tail = tail(60);
            forceKill();
            throw new IllegalStateException(e.getMessage() + "\n----- last lines of " + logFile() + ":\n" + tail, e);
        }
    }

    protected void environment(Map<String, String> env) {
        env.putIfAbsent("RUST_BACKTRACE", "1");
    }

    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** SIGTERM, wait up to 15 s, then SIGKILL. Returns true if the process exited on SIGTERM. */
    public boolean stop() {
        return stop(Duration.ofSeconds(15));
    }

    /** SIGTERM, wait up to {@code grace}, then SIGKILL. Returns true if the process exited on SIGTERM. */
    public synchronized boolean stop(Duration grace) {
        if (process == null) {
            return true;
        }
        boolean graceful = true;
        try {
            process.destroy();
            if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                graceful = false;
                System.err.println("[cluster] " + name + " did not exit within " + grace.toSeconds()
                    + " s of SIGTERM; killing");
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        // make sure the ports are released before anyone restarts us
        Wait.until(Duration.ofSeconds(10), 100, () -> !portOpen(port));
        process = null;
        return graceful;
    }

    /** SIGSTOP: the process freezes with its connections open (a hung server). */
    public void pause() {
        signal("STOP");
    }

    /** SIGCONT after {@link #pause()}. */
    public void resume() {
        signal("CONT");
    }

    private synchronized void signal(String sig) {
        if (process == null) {
            throw new IllegalStateException(name + " is not running");
        }
        try {
            int rc = new ProcessBuilder("kill", "-" + sig, String.valueOf(process.pid())).inheritIO().start().waitFor();
            if (rc != 0) {
                throw new IllegalStateException("kill -" + sig + " " + name + " exited " + rc);
            }
        } catch (IOException e) {
            throw new RuntimeException("cannot signal " + name + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** SIGKILL (crash). */
    public synchronized void forceKill() {
        if (process != null) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            process = null;
        }
    }

    public String tail(int lines) {
        File f = logFile().toFile();
        if (!f.exists()) {
            return "(no output file)";
        }
        try (RandomAccessFile raf = new RandomAccessFile(f, "r")) {
            long len = raf.length();
            long from = Math.max(0, len - 64 * 1024);
            raf.seek(from);
            byte[] buf = new byte[(int) (len - from)];
            raf.readFully(buf);
            String[] all = new String(buf, StandardCharsets.UTF_8).split("\n");
            List<String> out = new ArrayList<>();
            for (int i = Math.max(0, all.length - lines); i < all.length; i++) {
                out.add(all[i]);
            }
            return String.join("\n", out);
        } catch (IOException e) {
            return "(cannot read " + f + ": " + e + ")";
        }
    }

    public static boolean portOpen(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
