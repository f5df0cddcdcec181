package rmq.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import com.alibaba.fastjson2.JSONObject;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.exception.RemotingException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;

import rmq.compat.support.Clients;
import rmq.compat.support.Cluster;
import rmq.compat.support.DumpServerLogsOnFailure;
import rmq.compat.support.Remoting;
import rmq.compat.support.Wait;

/**
 * Fault injection with the official Java client on real processes: two NameServers, one group of a
 * {@code SYNC_MASTER} ({@code inSyncReplicas=2}, {@code SYNC_FLUSH}) and two slaves, rmq's failover controller,
 * a producer and a push consumer under load. Each scenario prints its figures: failover time (kill to a slave
 * being a writable master), the gap users see (the longest time without a {@code SEND_OK}), messages
 * acknowledged, consumed, lost and duplicated. rmq only: the controller is ours.
 */
class FailoverTest {
    private static final long FAILOVER_AFTER_MS = 1500;
    private static final String TOPIC = "FailoverTopic";
    private static final int QUEUES = 4;

    private Cluster cluster;
    @RegisterExtension
    final DumpServerLogsOnFailure dumpLogs = new DumpServerLogsOnFailure(() -> cluster);
    private RmqAdmin rmqadmin;

    @BeforeEach
    void start(TestInfo info) throws Exception {
        assumeFalse(Cluster.isApache(), "the failover controller is rmq's");
        cluster = Cluster.builder("Failover-" + info.getTestMethod().map(m -> m.getName()).orElse("x"))
            .nameServers(2)
            .broker("m")
            .slave("s1", "m", 1)
            .slave("s2", "m", 2)
            .brokerPropertyOn("m", "brokerRole", "SYNC_MASTER")
            .brokerProperty("inSyncReplicas", "2")
            .brokerProperty("flushDiskType", "SYNC_FLUSH")
            .brokerProperty("slaveReadEnable", "true")
            .failoverControllers(1, FAILOVER_AFTER_MS)
            .start();
        rmqadmin = new RmqAdmin(cluster.nameServerAddr(), cluster.dir.resolve("rmqadmin"));
        // On every member, so a promoted slave serves the topic at once.
        try (Admin admin = new Admin(cluster.nameServerAddr())) {
            for (Cluster.Broker b : cluster.brokers()) {
                admin.ext.createAndUpdateTopicConfig(b.addr(), new TopicConfig(TOPIC, QUEUES, QUEUES, 6));
            }
            admin.awaitRoute(TOPIC, 1);
        }
    }

    @AfterEach
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    // ------------------------------------------------------------------------------------------ scenarios

    @Test
    void killingTheMasterFailsOverAndLosesNothingWithATunedClient() throws Exception {
        try (Load load = new Load(cluster, 1000)) {
            load.awaitAcked(300);
            long killedAt = System.nanoTime();
            cluster.broker("m").forceKill();
            String newMaster = awaitWritableMaster(List.of("s1", "s2"), 0);
            long failoverMs = (System.nanoTime() - killedAt) / 1_000_000;
            load.awaitAcked(load.acked.size() + 200);
            load.stopProducing();
            load.report("kill -9 master (pollNameServerInterval=1000)", failoverMs, killedAt);
            load.awaitAllConsumed(Duration.ofSeconds(60));

            // The old master returns as a slave of the new epoch.
            long epoch = status(newMaster).getLongValue("epoch");
            cluster.broker("m").start();
            JSONObject rejoined = awaitSlave("m", epoch);
            assertTrue(rejoined.getLongValue("brokerId") > 0, "old master's BrokerId: " + rejoined);
        }
    }

    @Test
    void killingTheMasterWithTheDefaultRouteRefreshStillLosesNothing() throws Exception {
        try (Load load = new Load(cluster, null)) {
            load.awaitAcked(300);
            long killedAt = System.nanoTime();
            cluster.broker("m").forceKill();
            awaitWritableMaster(List.of("s1", "s2"), 0);
            long failoverMs = (System.nanoTime() - killedAt) / 1_000_000;
            load.awaitAcked(load.acked.size() + 100, Duration.ofSeconds(90));
            load.stopProducing();
            load.report("kill -9 master (default pollNameServerInterval=30000)", failoverMs, killedAt);
            load.awaitAllConsumed(Duration.ofSeconds(90));
        }
    }

    @Test
    void aFrozenMasterWritesNothingAfterTheFailoverAndRejoinsAsSlave() throws Exception {
        try (Load load = new Load(cluster, 1000)) {
            load.awaitAcked(300);
            long epochBefore = status("m").getLongValue("epoch");
            long frozenAt = System.nanoTime();
            cluster.broker("m").pause();
            String newMaster = awaitWritableMaster(List.of("s1", "s2"), epochBefore);
            long failoverMs = (System.nanoTime() - frozenAt) / 1_000_000;
            // With the controller gone the thawed old master is never told to follow: it still says MASTER, but
            // its lease cannot be renewed, so it refuses every write and its CommitLog does not grow.
            Cluster.Controller controller = cluster.controllers().get(0);
            controller.forceKill();
            cluster.broker("m").resume();
            long endAtThaw = -1;
            int refused = 0;
            long until = System.nanoTime() + Duration.ofSeconds(2).toNanos();
            while (System.nanoTime() < until) {
                JSONObject s = status("m");
                assertNotEquals("SLAVE", s.getString("role"), "nobody told the old master to follow");
                assertFalse(s.getBooleanValue("writable"), "the thawed old master is writable: " + s);
                endAtThaw = endAtThaw < 0 ? s.getLongValue("maxOffset") : endAtThaw;
                assertEquals(endAtThaw, s.getLongValue("maxOffset"), "the thawed old master's CommitLog grew");
                Remoting.Response r = Remoting.invoke(cluster.broker("m").addr(), 10, Map.of("producerGroup", "pg",
                    "topic", TOPIC, "defaultTopic", "TBW102", "defaultTopicQueueNums", "4", "queueId", "0", "sysFlag",
                    "0", "bornTimestamp", "0", "flag", "0"), 3000);
                assertEquals(14, r.code, "a send to the thawed old master: " + r);
                refused++;
                Wait.sleep(50);
            }
            System.out.println("SIGSTOP master: " + refused + " sends to the thawed old master in 2 s, all refused with"
                + " SERVICE_NOT_AVAILABLE; its CommitLog stayed at " + endAtThaw);
            controller.start();
            awaitSlave("m", status(newMaster).getLongValue("epoch"));
            load.awaitAcked(load.acked.size() + 100);
            load.stopProducing();
            load.report("SIGSTOP master (pollNameServerInterval=1000)", failoverMs, frozenAt);
            load.awaitAllConsumed(Duration.ofSeconds(60));
        }
    }

    @Test
    void writesContinueWithOneSlaveAndFailWithNone() throws Exception {
        try (Load load = new Load(cluster, 1000)) {
            load.awaitAcked(200);
            cluster.broker("s2").forceKill();
            int before = load.acked.size();
            load.awaitAcked(before + 200);
            load.stopProducing();
            load.report("one slave killed", 0, System.nanoTime());
            load.awaitAllConsumed(Duration.ofSeconds(60));

            cluster.broker("s1").forceKill();
            DefaultMQProducer direct = Clients.producer(cluster.nameServerAddr(), Clients.unique("pg_direct"));
            try {
                direct.setRetryTimesWhenSendFailed(0);
                direct.setSendMsgTimeout(5000);
                List<String> outcomes = new ArrayList<>();
                for (int i = 0; i < 5; i++) {
                    try {
                        SendResult r = direct.send(new Message(TOPIC, ("no-replica-" + i).getBytes()));
                        assertNotEquals(SendStatus.SEND_OK, r.getSendStatus(), "SEND_OK with no slave in sync");
                        outcomes.add(r.getSendStatus().name());
                    } catch (MQBrokerException e) {
                        outcomes.add("CODE " + e.getResponseCode());
                    } catch (Exception e) {
                        outcomes.add(e.getClass().getSimpleName());
                    }
                }
                System.out.println("no slave left: sends answered " + outcomes);
            } finally {
                direct.shutdown();
            }
        }
    }

    @Test
    void switchoverUnderLoadFailsAndLosesNothing() throws Exception {
        try (Load load = new Load(cluster, 1000)) {
            load.awaitAcked(300);
            long startedAt = System.nanoTime();
            RmqAdmin.Result r = rmqadmin.exec(List.of("replication", "switchover", "--controller",
                cluster.controllers().get(0).addr(), "--group", "m", "--broker-id", "2", "--output", "json"));
            long tookMs = (System.nanoTime() - startedAt) / 1_000_000;
            assertEquals(0, r.exitCode, r.toString());
            assertEquals(cluster.broker("s2").adminAddr(), r.object().getString("master"));
            load.awaitAcked(load.acked.size() + 300);
            load.stopProducing();
            load.report("switchover to BrokerId 2", tookMs, startedAt);
            load.awaitAllConsumed(Duration.ofSeconds(60));
            List<String> notRetriable = load.failures.stream().filter(f -> !f.startsWith("retriable"))
                .collect(Collectors.toList());
            assertTrue(notRetriable.isEmpty(), "non-retriable send failures: " + notRetriable);
            awaitSlave("m", r.object().getLongValue("epoch"));
        }
    }

    // ------------------------------------------------------------------------------------------ helpers

    private JSONObject statusOrNull(String broker) throws Exception {
        RmqAdmin.Result r = rmqadmin.exec(List.of("replication", "status", "-a",
            cluster.broker(broker).adminAddr(), "--timeout", "500", "--output", "json"));
        return r.exitCode == 0 ? r.object() : null;
    }

    private JSONObject status(String broker) throws Exception {
        JSONObject s = statusOrNull(broker);
        if (s == null) {
            throw new AssertionError("no status from " + broker);
        }
        return s;
    }

    /** Waits until one of {@code candidates} is a writable master above {@code epoch}; returns its name. */
    private String awaitWritableMaster(List<String> candidates, long epoch) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            for (String c : candidates) {
                JSONObject s = statusOrNull(c);
                if (s != null && !"SLAVE".equals(s.getString("role")) && s.getBooleanValue("writable")
                    && s.getLongValue("epoch") > epoch) {
                    return c;
                }
            }
            Wait.sleep(20);
        }
        throw new AssertionError("no slave became a writable master within 20 s");
    }

    private JSONObject awaitSlave(String broker, long epoch) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            JSONObject s = statusOrNull(broker);
            if (s != null && "SLAVE".equals(s.getString("role")) && s.getLongValue("epoch") >= epoch
                && !s.getBooleanValue("fenced")) {
                return s;
            }
            Wait.sleep(100);
        }
        throw new AssertionError(broker + " never rejoined as a slave of epoch " + epoch);
    }

    /** A producer sending one message after another, retrying failures as an application would, and a push consumer. */
    static final class Load implements AutoCloseable {
        final Map<String, Long> acked = new ConcurrentHashMap<>();
        final List<String> failures = Collections.synchronizedList(new ArrayList<>());
        final Map<String, AtomicInteger> consumed = new ConcurrentHashMap<>();
        private final DefaultMQProducer producer;
        private final DefaultMQPushConsumer consumer;
        private final Thread sender;
        private final String topic;
        private volatile boolean running = true;

        Load(Cluster cluster, Integer pollNameServerIntervalMs) throws Exception {
            this(cluster.nameServerAddr(), TOPIC, pollNameServerIntervalMs);
        }

        Load(String namesrvAddr, String topic, Integer pollNameServerIntervalMs) throws Exception {
            this.topic = topic;
            producer = new DefaultMQProducer(Clients.unique("pg_failover"));
            producer.setNamesrvAddr(namesrvAddr);
            producer.setInstanceName(Clients.unique("p"));
            producer.setSendMsgTimeout(3000);
            consumer = new DefaultMQPushConsumer(Clients.unique("cg_failover"));
            consumer.setNamesrvAddr(namesrvAddr);
            consumer.setInstanceName(Clients.unique("c"));
            consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
            consumer.setPersistConsumerOffsetInterval(1000);
            if (pollNameServerIntervalMs != null) {
                producer.setPollNameServerInterval(pollNameServerIntervalMs);
                consumer.setPollNameServerInterval(pollNameServerIntervalMs);
            }
            consumer.subscribe(topic, "*");
            consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                for (MessageExt m : msgs) {
                    consumed.computeIfAbsent(m.getMsgId(), k -> new AtomicInteger()).incrementAndGet();
                }
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            consumer.start();
            producer.start();
            sender = new Thread(this::sendLoop, "failover-load");
            sender.start();
        }

        private void sendLoop() {
            long n = 0;
            while (running) {
                try {
                    SendResult r = producer.send(new Message(topic, ("msg-" + n).getBytes()));
                    if (r.getSendStatus() == SendStatus.SEND_OK) {
                        acked.put(r.getMsgId(), System.nanoTime());
                        n++;
                    } else {
                        failures.add("status " + r.getSendStatus());
                    }
                } catch (Exception e) {
                    failures.add((retriable(e) ? "retriable: " : "other: ") + e);
                    Wait.sleep(50);
                }
            }
        }

        /** Network errors and SERVICE_NOT_AVAILABLE (a fenced or restarting broker) are worth retrying. */
        private static boolean retriable(Throwable e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof MQBrokerException) {
                    return ((MQBrokerException) t).getResponseCode() == 14;
                }
                if (t instanceof RemotingException) {
                    return true;
                }
            }
            return String.valueOf(e.getMessage()).contains("No route info");
        }

        void awaitAcked(int n) {
            awaitAcked(n, Duration.ofSeconds(60));
        }

        void awaitAcked(int n, Duration timeout) {
            Wait.require(timeout, 20, () -> acked.size() >= n,
                () -> "only " + acked.size() + " of " + n + " sends acknowledged; failures: " + lastFailures());
        }

        private String lastFailures() {
            synchronized (failures) {
                return failures.subList(Math.max(0, failures.size() - 5), failures.size()).toString();
            }
        }

        void stopProducing() throws InterruptedException {
            running = false;
            sender.join(30_000);
        }

        /** Prints the scenario's figures; the gap is the longest stretch without a SEND_OK from 1 s before {@code at}. */
        void report(String scenario, long failoverMs, long at) {
            List<Long> times = acked.values().stream().filter(t -> t >= at - 1_000_000_000L).sorted()
                .collect(Collectors.toList());
            long gap = 0;
            for (int i = 1; i < times.size(); i++) {
                gap = Math.max(gap, times.get(i) - times.get(i - 1));
            }
            System.out.printf("%s: failover %d ms, user-visible gap %d ms, acknowledged %d, failed sends (retried) %d%n",
                scenario, failoverMs, gap / 1_000_000, acked.size(), failures.size());
        }

        /** Every acknowledged message is consumed at least once; prints lost and duplicated counts. */
        void awaitAllConsumed(Duration timeout) {
            boolean all = Wait.until(timeout, 100, () -> consumed.keySet().containsAll(acked.keySet()));
            long lost = acked.keySet().stream().filter(id -> !consumed.containsKey(id)).count();
            long duplicated = consumed.values().stream().filter(c -> c.get() > 1).count();
            System.out.printf("  consumed %d distinct, lost %d, duplicated %d%n", consumed.size(), lost, duplicated);
            assertTrue(all, lost + " acknowledged messages never consumed");
        }

        @Override
        public void close() {
            running = false;
            producer.shutdown();
            consumer.shutdown();
        }
    }
}
