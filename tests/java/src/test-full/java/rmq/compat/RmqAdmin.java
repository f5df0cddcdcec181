package rmq.compat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.alibaba.fastjson2.JSON;
import com.alibaba.fastjson2.JSONArray;
import com.alibaba.fastjson2.JSONObject;

/**
 * Runs our {@code rmqadmin} binary ({@code <rmq.bin.dir>/rmqadmin}, built by {@code cargo build -p rmq-client})
 * and captures stdout, stderr, the exit code and the wall time.
 */
final class RmqAdmin {
    private final String namesrvAddr;
    private final Path home;

    RmqAdmin(String namesrvAddr, Path home) {
        this.namesrvAddr = namesrvAddr;
        this.home = home;
    }

    static Path binary() {
        Path bin = Paths.get(System.getProperty("rmq.bin.dir", "../../target/debug")).resolve("rmqadmin")
            .toAbsolutePath();
        if (!Files.isExecutable(bin)) {
            throw new IllegalStateException("rmqadmin not found or not executable: " + bin
                + " (build it with `cargo build -p rmq-client`, or point -Drmq.bin.dir / RMQ_BIN_DIR at it)");
        }
        return bin;
    }

    static final class Result {
        final List<String> args;
        final int exitCode;
        final String stdout;
        final String stderr;
        final long millis;

        Result(List<String> args, int exitCode, String stdout, String stderr, long millis) {
            this.args = args;
            this.exitCode = exitCode;
            this.stdout = stdout;
            this.stderr = stderr;
            this.millis = millis;
        }

        JSONObject object() {
            return JSON.parseObject(stdout);
        }

        JSONArray array() {
            return JSON.parseArray(stdout);
        }

        @Override
        public String toString() {
            return "rmqadmin " + String.join(" ", args) + " (exit " + exitCode + ", " + millis + " ms):\n" + stdout
                + (stderr.isEmpty() ? "" : "[stderr] " + stderr);
        }
    }

    /** Runs {@code rmqadmin <args> -n <namesrv> --output json}. */
    Result json(String... args) throws Exception {
        List<String> a = new ArrayList<>(Arrays.asList(args));
        a.addAll(List.of("-n", namesrvAddr, "--output", "json"));
        return exec(a);
    }

    /** Runs {@code rmqadmin <args> -n <namesrv> --output json} and fails unless it exits 0. */
    Result ok(String... args) throws Exception {
        Result r = json(args);
        if (r.exitCode != 0) {
            throw new AssertionError("expected exit 0 from " + r);
        }
        return r;
    }

    /** Runs {@code rmqadmin <args>} exactly as given (no -n, no --output). */
    Result exec(List<String> args) throws Exception {
        Files.createDirectories(home);
        List<String> cmd = new ArrayList<>();
        cmd.add(binary().toString());
        cmd.addAll(args);
        Path out = Files.createTempFile(home, "rmqadmin-", ".out");
        Path err = Files.createTempFile(home, "rmqadmin-", ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().remove("NAMESRV_ADDR");
        pb.environment().remove("RUST_LOG");
        long start = System.nanoTime();
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError("rmqadmin " + String.join(" ", args) + " did not finish within 60 s");
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        Result r = new Result(args, p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
            Files.readString(err, StandardCharsets.UTF_8), millis);
        System.out.println(r);
        return r;
    }
}
