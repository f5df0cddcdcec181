package rmq.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;

import rmq.compat.support.Clients;
import rmq.compat.support.Cluster;
import rmq.compat.support.DumpServerLogsOnFailure;
import rmq.compat.support.Received;
import rmq.compat.support.Remoting;
import rmq.compat.support.Wait;

/**
 * Smoke subset: runs with client 5.3.3 (JSON and ROCKETMQ header serialization) and client 4.9.8. Only client API
 * common to both versions. Topics are auto-created by the first send (autoCreateTopicEnable, via TBW102).
 */
@Tag("smoke")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SmokeTest {
    private static final Duration RECEIVE_TIMEOUT = Duration.ofSeconds(60);

    private Cluster cluster;
    @RegisterExtension
    final DumpServerLogsOnFailure dumpLogs = new DumpServerLogsOnFailure(() -> cluster);
    private DefaultMQProducer producer;

    @BeforeAll
    void startCluster() throws Exception {
        // make sure the header encoding under test is really the one the client uses
        String wanted = System.getProperty("rocketmq.serialize.type", "JSON");
        assertEquals(wanted, RemotingCommand.createRequestCommand(105, null).getSerializeTypeCurrentRPC().name(),
            "client header serialization (rocketmq.serialize.type)");
        cluster = Cluster.builder("SmokeTest").start();
        producer = Clients.producer(cluster.nameServerAddr(), Clients.unique("smoke_pg"));
    }

    @AfterAll
    void stopCluster() {
        if (producer != null) {
            producer.shutdown();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    /** Sends synchronously; asserts SEND_OK and returns queueId -> number of messages (= next offset). */
    private Map<Integer, Long> sendAll(List<Message> msgs) throws Exception {
        Map<Integer, Long> nextOffset = new TreeMap<>();
        for (Message m : msgs) {
            SendResult r = producer.send(m);
            assertEquals(SendStatus.SEND_OK, r.getSendStatus(), "send status of " + Clients.describe(m));
            assertNotNull(r.getMsgId(), "msgId in SendResult");
            assertEquals(m.getTopic(), r.getMessageQueue().getTopic(), "SendResult topic");
            nextOffset.merge(r.getMessageQueue().getQueueId(), r.getQueueOffset() + 1, Math::max);
        }
        return nextOffset;
    }

    @Test
    void sendAndPushConsume() throws Exception {
        String topic = Clients.unique("SmokeTopic");
        String group = Clients.unique("smoke_cg");
        List<Message> msgs = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            msgs.add(Clients.message(topic, 1024, i % 2 == 0 ? "TagA" : "TagB"));
        }
        sendAll(msgs);

        Received received = new Received();
        DefaultMQPushConsumer consumer = Clients.pushConsumer(cluster.nameServerAddr(), group, topic, received);
        consumer.start();
        try {
            received.assertExactly(msgs, RECEIVE_TIMEOUT, 1000, "push consumer " + group);
        } finally {
            consumer.shutdown();
        }
    }

    @Test
    void brokerRestartKeepsMessagesAndOffsets() throws Exception {
        String topic = Clients.unique("RestartTopic");
        String group = Clients.unique("restart_cg");
        String ns = cluster.nameServerAddr();
        Cluster.Broker broker = cluster.broker();

        // 1) first half: sent and consumed; offsets committed (consumer shut down cleanly)
        List<Message> first = Clients.messages(topic, 20, 512, "Before");
        Map<Integer, Long> expectedOffsets = sendAll(first);
        Received r1 = new Received();
        DefaultMQPushConsumer c1 = Clients.pushConsumer(ns, group, topic, r1);
        c1.start();
        try {
            r1.assertExactly(first, RECEIVE_TIMEOUT, 500, "first consumer (before restart)");
        } finally {
            c1.shutdown();
        }
        Map<Integer, Long> committed = new TreeMap<>();
        boolean ok = Wait.until(Duration.ofSeconds(15), 200, () -> {
            committed.clear();
            for (Integer q : expectedOffsets.keySet()) {
                try {
                    committed.put(q, Remoting.queryConsumerOffset(broker.addr(), group, topic, q));
                } catch (Exception e) {
                    return false;
                }
            }
            return committed.equals(expectedOffsets);
        });
        assertTrue(ok, "committed consumer offsets (QUERY_CONSUMER_OFFSET) of " + group + " should equal the "
            + "per-queue message counts " + expectedOffsets + " after the consumer shut down, but were " + committed);

        // 2) second half: sent but not consumed before the restart
        List<Message> second = Clients.messages(topic, 20, 512, "Unconsumed");
        sendAll(second);

        boolean graceful = broker.restart();

        // 3) written after the restart
        List<Message> third = Clients.messages(topic, 10, 512, "After");
        sendAll(third);

        // the same group resumes exactly after its committed offsets
        List<Message> remaining = new ArrayList<>(second);
        remaining.addAll(third);
        Received r2 = new Received();
        DefaultMQPushConsumer c2 = Clients.pushConsumer(ns, group, topic, r2);
        c2.start();
        try {
            r2.assertExactly(remaining, RECEIVE_TIMEOUT, 1000,
                "same group after broker restart (should get exactly the unconsumed messages)");
        } finally {
            c2.shutdown();
        }

        // a fresh group starting from the first offset sees everything, including pre-restart messages
        List<Message> everything = new ArrayList<>(first);
        everything.addAll(remaining);
        Received r3 = new Received();
        DefaultMQPushConsumer c3 = Clients.pushConsumer(ns, Clients.unique("restart_fresh_cg"), topic, r3);
        c3.start();
        try {
            r3.assertExactly(everything, RECEIVE_TIMEOUT, 1000, "fresh group (CONSUME_FROM_FIRST_OFFSET) after restart");
        } finally {
            c3.shutdown();
        }
        assertTrue(graceful, "broker should exit within " + Cluster.GRACEFUL_STOP.toSeconds() + " s of SIGTERM");
    }
}
