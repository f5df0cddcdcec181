package rmq.compat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code mqadmin} (MQAdminStartup from rocketmq-tools 5.3.3, via {@link MqAdminMain}) as a separate JVM and
 * captures its output (stdout + stderr).
 */
final class MqAdmin {
    private final String namesrvAddr;
    private final Path home;

    MqAdmin(String namesrvAddr, Path home) {
        this.namesrvAddr = namesrvAddr;
        this.home = home;
    }

    static final class Result {
        final List<String> args;
        final int exitCode;
        final String output;

        Result(List<String> args, int exitCode, String output) {
            this.args = args;
            this.exitCode = exitCode;
            this.output = output;
        }

        @Override
        public String toString() {
            return "mqadmin " + String.join(" ", args) + " (exit " + exitCode + "):\n" + output;
        }
    }

    /** test-classes (for {@link MqAdminMain}) + the test dependency classpath written by the build. */
    private static String classpath() throws Exception {
        Path f = Paths.get(System.getProperty("rmq.test.classpath.file", "target/test-classpath.txt"));
        String self = Paths.get(MqAdmin.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        return self + java.io.File.pathSeparator + Files.readString(f, StandardCharsets.UTF_8).trim();
    }

    /** Runs {@code mqadmin <command> -n <namesrv> args...}. */
    Result run(String command, String... args) throws Exception {
        Files.createDirectories(home);
        List<String> a = new ArrayList<>();
        a.add(command);
        a.add("-n");
        a.add(namesrvAddr);
        a.addAll(Arrays.asList(args));
        List<String> cmd = new ArrayList<>(Arrays.asList(
            Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xms64m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Duser.home=" + home, "-Drocketmq.home.dir=" + home,
            "-Drmq.logback.configurationFile=rmq.tools.logback.xml",
            "-Drocketmq.log.root=" + home.resolve("logs"), "-Drocketmq.client.logRoot=" + home.resolve("logs"),
            "-cp", classpath(), MqAdminMain.class.getName()));
        cmd.addAll(a);
        Path out = Files.createTempFile(home, "mqadmin-", ".out");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError("mqadmin " + String.join(" ", a) + " did not finish within 90 s; output:\n"
                + Files.readString(out));
        }
        Result r = new Result(a, p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        System.out.println(r);
        return r;
    }
}
