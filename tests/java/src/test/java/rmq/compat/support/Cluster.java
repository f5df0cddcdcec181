package rmq.compat.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * NameServers + Brokers as real processes, either our Rust binaries ({@code -Drmq.impl=rmq}, default) or the
 * real Apache RocketMQ 5.3.3 servers ({@code -Drmq.impl=apache}). Everything listens on 127.0.0.1 only.
 */
public final class Cluster implements AutoCloseable {
    public static final String IMPL = System.getProperty("rmq.impl", "rmq");
    public static final int MAX_MESSAGE_SIZE = 4 * 1024 * 1024;
    /** How long a graceful broker stop may take before SIGKILL (see {@link Broker#stopGracefully()}). */
    public static final Duration GRACEFUL_STOP = Duration.ofSeconds("apache".equals(IMPL) ? 90 : 15);

    private static final List<Cluster> LIVE = Collections.synchronizedList(new ArrayList<>());

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Cluster c : new ArrayList<>(LIVE)) {
                c.killAll();
            }
        }, "cluster-shutdown"));
    }

    public final String clusterName;
    public final Path dir;
    private final List<NameServer> nameServers = new ArrayList<>();
    private final Map<String, Broker> brokers = new LinkedHashMap<>();
    private final List<Controller> controllers = new ArrayList<>();

    private Cluster(String clusterName, Path dir) {
        this.clusterName = clusterName;
        this.dir = dir;
    }

    // ------------------------------------------------------------------------------------------ builder

    public static Builder builder(String testName) {
        return new Builder(testName);
    }

    public static final class Builder {
        private final String testName;
        private int nameServers = 1;
        private final List<String> brokerNames = new ArrayList<>();
        private String clusterName = "RmqTestCluster";
        private final Map<String, String> brokerProps = new LinkedHashMap<>();
        /** Slave name -> {group, brokerId}. */
        private final Map<String, String[]> slaves = new LinkedHashMap<>();
        private final Map<String, Map<String, String>> propsOn = new LinkedHashMap<>();
        private int controllers;
        private long failoverAfterMs = 2000;

        Builder(String testName) {
            this.testName = testName;
        }

        public Builder nameServers(int n) {
            this.nameServers = n;
            return this;
        }

        public Builder broker(String brokerName) {
            brokerNames.add(brokerName);
            return this;
        }

        /** Adds broker {@code name} as slave {@code brokerId} (> 0) of group {@code group}; slaves start after masters. */
        public Builder slave(String name, String group, int brokerId) {
            brokerNames.add(name);
            slaves.put(name, new String[] {group, String.valueOf(brokerId)});
            return this;
        }

        /** Sets {@code key=value} in broker {@code name}'s broker.conf only. */
        public Builder brokerPropertyOn(String name, String key, String value) {
            propsOn.computeIfAbsent(name, n -> new LinkedHashMap<>()).put(key, value);
            return this;
        }

        /**
         * Runs {@code replicas} rmq failover controllers watching every group, failing over after
         * {@code failoverAfterMs}; every broker gets a gRPC admin port and its group's other members as
         * {@code groupPeers} (rmq only).
         */
        public Builder failoverControllers(int replicas, long failoverAfterMs) {
            this.controllers = replicas;
            this.failoverAfterMs = failoverAfterMs;
            return this;
        }

        public Builder clusterName(String name) {
            this.clusterName = name;
            return this;
        }

        public Builder brokerProperty(String key, String value) {
            brokerProps.put(key, value);
            return this;
        }

        /** Creates and starts everything (NameServers first, then brokers), waiting for readiness. */
        public Cluster start() {
            if (brokerNames.isEmpty()) {
                brokerNames.add("broker-a");
            }
            String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("HHmmss-SSS"));
            Path root = Paths.get(System.getProperty("rmq.work.dir", "target/rmq-work"))
                .resolve(testName + "-" + IMPL + "-" + stamp).toAbsolutePath();
            Cluster c = new Cluster(clusterName, root);
            LIVE.add(c);
            try {
                for (int i = 0; i < nameServers; i++) {
                    c.nameServers.add(new NameServer(c, "namesrv-" + i, root.resolve("namesrv-" + i),
                        Ports.allocate()));
                }
                for (String bn : brokerNames) {
                    Map<String, String> props = new LinkedHashMap<>(brokerProps);
                    props.putAll(propsOn.getOrDefault(bn, Map.of()));
                    String[] slave = slaves.get(bn);
                    Broker b = new Broker(c, bn, root.resolve(bn), Ports.allocate(), props,
                        slave == null ? bn : slave[0], slave == null ? 0 : Integer.parseInt(slave[1]),
                        controllers > 0 ? Ports.allocate() : 0);
                    c.brokers.put(bn, b);
                }
                for (Broker b : c.brokers.values()) {
                    if (b.adminPort > 0) {
                        String peers = c.brokers.values().stream()
                            .filter(o -> o != b && o.group.equals(b.group))
                            .map(Broker::adminAddr).collect(Collectors.joining(","));
                        b.extraProps.put("grpcAdminPort", String.valueOf(b.adminPort));
                        b.extraProps.put("groupPeers", peers);
                        b.extraProps.put("fencingLease", String.valueOf(failoverAfterMs / 2));
                    }
                }
                for (int i = 0; i < controllers; i++) {
                    c.controllers.add(new Controller(c, i, root.resolve("controller-" + i), Ports.allocate(),
                        failoverAfterMs));
                }
                for (NameServer ns : c.nameServers) {
                    ns.start();
                }
                for (boolean slavesNow : new boolean[] {false, true}) {
                    for (Broker b : c.brokers.values()) {
                        if ((b.brokerId != 0) == slavesNow) {
                            b.start();
                        }
                    }
                }
                for (Controller ctl : c.controllers) {
                    ctl.start();
                }
                return c;
            } catch (RuntimeException | Error e) {
                c.close();
                throw e;
            }
        }
    }

    // ------------------------------------------------------------------------------------------ accessors

    /** All NameServer addresses, ';'-separated (client format). */
    public String nameServerAddr() {
        return nameServers.stream().map(ServerProcess::addr).collect(Collectors.joining(";"));
    }

    public List<NameServer> nameServers() {
        return nameServers;
    }

    public NameServer nameServer(int i) {
        return nameServers.get(i);
    }

    public Broker broker(String name) {
        Broker b = brokers.get(name);
        if (b == null) {
            throw new IllegalArgumentException("no broker " + name);
        }
        return b;
    }

    public Broker broker() {
        return brokers.values().iterator().next();
    }

    public List<Broker> brokers() {
        return new ArrayList<>(brokers.values());
    }

    /**
     * Stops brokers, then NameServers (SIGTERM, then SIGKILL after 15 s; only 3 s for the Apache servers, whose
     * shutdown hooks are slow and irrelevant at teardown); removes store dirs (logs are kept).
     */
    @Override
    public void close() {
        Duration grace = Duration.ofSeconds(isApache() ? 3 : 15);
        for (Controller ctl : controllers) {
            ctl.stop(grace);
        }
        for (Broker b : brokers.values()) {
            b.stop(grace);
        }
        for (NameServer ns : nameServers) {
            ns.stop(grace);
        }
        LIVE.remove(this);
        for (Broker b : brokers.values()) {
            deleteRecursively(b.dir.resolve("store"));
        }
    }

    private void killAll() {
        for (Broker b : brokers.values()) {
            b.forceKill();
        }
        for (NameServer ns : nameServers) {
            ns.forceKill();
        }
    }

    /** Dumps the tails of all server logs (for failure messages). */
    public String diagnostics() {
        StringBuilder sb = new StringBuilder();
        for (ServerProcess p : all()) {
            sb.append("\n----- ").append(p.name).append(" (alive=").append(p.isAlive()).append(") ")
                .append(p.logFile()).append(":\n").append(p.tail(30));
        }
        return sb.toString();
    }

    private List<ServerProcess> all() {
        List<ServerProcess> l = new ArrayList<>(nameServers);
        l.addAll(brokers.values());
        return l;
    }

    // ------------------------------------------------------------------------------------------ servers

    public static final class NameServer extends ServerProcess {
        private final Cluster cluster;

        NameServer(Cluster cluster, String name, Path dir, int port) {
            super(name, dir, port);
            this.cluster = cluster;
        }

        @Override
        protected void writeConfig() throws IOException {
            Files.writeString(dir.resolve("namesrv.properties"),
                "listenPort=" + port + "\nbindAddress=127.0.0.1\n", StandardCharsets.UTF_8);
        }

        @Override
        protected List<String> command() throws IOException {
            Path conf = dir.resolve("namesrv.properties");
            if (isApache()) {
                List<String> cmd = Apache.javaCommand(dir, "256m", "rmq.namesrv.logback.xml");
                cmd.addAll(Arrays.asList("org.apache.rocketmq.namesrv.NamesrvStartup", "-c", conf.toString()));
                return cmd;
            }
            return new ArrayList<>(Arrays.asList(binary("rmq-namesrv"), "-c", conf.toString()));
        }
    }

    public static final class Broker extends ServerProcess {
        private final Cluster cluster;
        public final String brokerName;
        /** {@code brokerName} on the wire: the replica group (the broker's own name unless it is a slave). */
        public final String group;
        public final int brokerId;
        /** {@code grpcAdminPort}, 0 when the cluster runs no failover controller. */
        public final int adminPort;
        private final Map<String, String> extraProps;

        Broker(Cluster cluster, String brokerName, Path dir, int port, Map<String, String> extraProps, String group,
               int brokerId, int adminPort) {
            super(brokerName, dir, port);
            this.cluster = cluster;
            this.brokerName = brokerName;
            this.group = group;
            this.brokerId = brokerId;
            this.adminPort = adminPort;
            this.extraProps = new LinkedHashMap<>(extraProps);
        }

        /** {@code 127.0.0.1:<grpcAdminPort>}. */
        public String adminAddr() {
            return "127.0.0.1:" + adminPort;
        }

        public Path storeDir() {
            return dir.resolve("store");
        }

        @Override
        protected void writeConfig() throws IOException {
            Map<String, String> p = new LinkedHashMap<>();
            p.put("brokerClusterName", cluster.clusterName);
            p.put("brokerName", group);
            p.put("brokerId", String.valueOf(brokerId));
            p.put("brokerRole", brokerId == 0 ? "ASYNC_MASTER" : "SLAVE");
            p.put("brokerIP1", "127.0.0.1");
            p.put("brokerIP2", "127.0.0.1");
            p.put("bindAddress", "127.0.0.1");
            p.put("listenPort", String.valueOf(port));
            p.put("namesrvAddr", cluster.nameServerAddr());
            p.put("storePathRootDir", storeDir().toString());
            p.put("autoCreateTopicEnable", "true");
            p.put("autoCreateSubscriptionGroup", "true");
            p.put("flushDiskType", "ASYNC_FLUSH");
            p.put("mappedFileSizeCommitLog", "67108864");
            p.put("maxMessageSize", String.valueOf(MAX_MESSAGE_SIZE));
            p.putAll(extraProps);
            StringBuilder sb = new StringBuilder();
            p.forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
            Files.writeString(dir.resolve("broker.conf"), sb.toString(), StandardCharsets.UTF_8);
        }

        @Override
        protected List<String> command() throws IOException {
            Path conf = dir.resolve("broker.conf");
            if (isApache()) {
                List<String> cmd = Apache.javaCommand(dir, "1g", "rmq.broker.logback.xml");
                cmd.add(1, "-XX:MaxDirectMemorySize=1g");
                cmd.addAll(Arrays.asList("org.apache.rocketmq.broker.BrokerStartup", "-c", conf.toString()));
                return cmd;
            }
            return new ArrayList<>(Arrays.asList(binary("rmq-broker"), "-c", conf.toString()));
        }

        /** Ready = port open and every running NameServer lists this broker's address. */
        @Override
        protected void awaitReady() {
            String needle = "127.0.0.1:" + port + "\"";
            Wait.require(Duration.ofSeconds(30), 200, () -> {
                if (!isAlive()) {
                    throw new IllegalStateException(name + " exited");
                }
                for (NameServer ns : cluster.nameServers) {
                    if (!ns.isAlive()) {
                        continue;
                    }
                    try {
                        if (!Remoting.clusterInfo(ns.addr()).contains(needle)) {
                            return false;
                        }
                    } catch (IOException e) {
                        return false;
                    }
                }
                return true;
            }, () -> name + " (" + addr() + ") not registered with NameServer(s) " + cluster.nameServerAddr()
                + (isAlive() ? "" : " - broker process exited"));
        }

        /**
         * Graceful stop for a restart: SIGTERM and wait up to {@link #GRACEFUL_STOP} (15 s for rmq; the Apache
         * broker's shutdown hook alone takes ~20-30 s on 2 cores, so 90 s there), then SIGKILL.
         * Returns true if the process exited on SIGTERM.
         */
        public boolean stopGracefully() {
            return stop(GRACEFUL_STOP);
        }

        /** {@link #stopGracefully()}, then start again with the same store dir and ports. */
        public boolean restart() {
            boolean graceful = stopGracefully();
            start();
            return graceful;
        }
    }

    /** An rmq failover controller replica watching every group of the cluster. */
    public static final class Controller extends ServerProcess {
        private final Cluster cluster;
        private final int id;
        private final long failoverAfterMs;

        Controller(Cluster cluster, int id, Path dir, int port, long failoverAfterMs) {
            super("controller-" + id, dir, port);
            this.cluster = cluster;
            this.id = id;
            this.failoverAfterMs = failoverAfterMs;
        }

        @Override
        protected void writeConfig() {}

        @Override
        protected List<String> command() {
            List<String> cmd = new ArrayList<>(Arrays.asList(binary("rmq-controller"), "--listen", addr(), "--id",
                String.valueOf(id), "--failover-after-ms", String.valueOf(failoverAfterMs), "--fencing-lease-ms",
                String.valueOf(failoverAfterMs / 2)));
            for (Controller peer : cluster.controllers) {
                if (peer != this) {
                    cmd.addAll(List.of("--peer", peer.addr()));
                }
            }
            Map<String, List<String>> groups = new LinkedHashMap<>();
            for (Broker b : cluster.brokers.values()) {
                groups.computeIfAbsent(b.group, g -> new ArrayList<>()).add(b.adminAddr());
            }
            groups.forEach((g, members) -> cmd.addAll(List.of("--group", g + "=" + String.join(",", members))));
            return cmd;
        }

    }

    /** The failover controllers (empty unless the builder asked for them). */
    public List<Controller> controllers() {
        return controllers;
    }

    // ------------------------------------------------------------------------------------------ impls

    public static boolean isApache() {
        return "apache".equals(IMPL);
    }

    static String binary(String name) {
        Path bin = Paths.get(System.getProperty("rmq.bin.dir", "../../target/debug")).resolve(name).toAbsolutePath();
        if (!Files.isExecutable(bin)) {
            throw new IllegalStateException("rmq binary not found or not executable: " + bin
                + " (build it with `cargo build`, or point -Drmq.bin.dir / RMQ_BIN_DIR at it)");
        }
        return bin.toString();
    }

    /** Launching the reference implementation from Maven Central jars. */
    static final class Apache {
        private static String classpath;

        static synchronized String classpath() {
            if (classpath != null) {
                return classpath;
            }
            Path file = Paths.get(System.getProperty("rmq.apache.classpath.file", "target/apache-runtime-classpath.txt"));
            try {
                if (!Files.exists(file) || Files.size(file) == 0) {
                    resolve(file);
                }
                classpath = Files.readString(file, StandardCharsets.UTF_8).trim();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
            return classpath;
        }

        private static void resolve(Path file) throws IOException {
            Path pom = Paths.get(System.getProperty("rmq.apache.pom", "apache-runtime/pom.xml"));
            String mavenHome = System.getProperty("maven.home");
            String mvn = mavenHome != null && Files.isExecutable(Paths.get(mavenHome, "bin", "mvn"))
                ? Paths.get(mavenHome, "bin", "mvn").toString() : "mvn";
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.createDirectories(file.toAbsolutePath().getParent());
            Path log = file.resolveSibling("apache-runtime-resolve.log");
            ProcessBuilder pb = new ProcessBuilder(mvn, "-B", "-q", "-f", pom.toString(),
                "dependency:build-classpath", "-Dmdep.outputFile=" + tmp.toAbsolutePath())
                .redirectErrorStream(true).redirectOutput(log.toFile());
            try {
                Process p = pb.start();
                if (!p.waitFor(15, TimeUnit.MINUTES) || p.exitValue() != 0) {
                    p.destroyForcibly();
                    throw new IOException("resolving the Apache RocketMQ runtime failed, see " + log + ":\n"
                        + Files.readString(log));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }

        static List<String> javaCommand(Path dir, String xmx, String logback) {
            List<String> cmd = new ArrayList<>();
            cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
            cmd.addAll(Arrays.asList("-server", "-Xms128m", "-Xmx" + xmx, "-XX:+UseG1GC",
                "-XX:-OmitStackTraceInFastThrow", "-XX:TieredStopAtLevel=1",
                "-Duser.home=" + dir, "-Drocketmq.home.dir=" + dir,
                "-Drmq.logback.configurationFile=" + logback,
                "--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-opens=java.base/java.nio=ALL-UNNAMED",
                "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED",
                "-cp", classpath()));
            return cmd;
        }
    }

    static void deleteRecursively(Path p) {
        if (!Files.exists(p)) {
            return;
        }
        try (var s = Files.walk(p)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
        } catch (IOException e) {
            // best effort
        }
    }
}
