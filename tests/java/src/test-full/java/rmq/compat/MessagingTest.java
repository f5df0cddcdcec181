package rmq.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageClientIDSetter;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;

import rmq.compat.support.Clients;
import rmq.compat.support.Cluster;
import rmq.compat.support.DumpServerLogsOnFailure;
import rmq.compat.support.Received;
import rmq.compat.support.Wait;

/** Send modes, body sizes, push consumption semantics and lite pull, against one broker. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MessagingTest {
    private static final Duration RECEIVE_TIMEOUT = Duration.ofSeconds(60);
    private static final int QUEUES = 4;

    private Cluster cluster;
    @RegisterExtension
    final DumpServerLogsOnFailure dumpLogs = new DumpServerLogsOnFailure(() -> cluster);
    private Admin admin;
    private DefaultMQProducer producer;
    private final List<AutoCloseable> toClose = new CopyOnWriteArrayList<>();

    @BeforeAll
    void start() throws Exception {
        cluster = Cluster.builder("MessagingTest").start();
        admin = new Admin(cluster.nameServerAddr());
        producer = Clients.producer(cluster.nameServerAddr(), Clients.unique("msg_pg"));
    }

    @AfterAll
    void stop() {
        for (AutoCloseable c : toClose) {
            try {
                c.close();
            } catch (Exception e) {
                // ignore
            }
        }
        if (producer != null) {
            producer.shutdown();
        }
        if (admin != null) {
            admin.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    private String newTopic(String prefix) throws Exception {
        String topic = Clients.unique(prefix);
        admin.createTopic(cluster.clusterName, topic, QUEUES);
        return topic;
    }

    private DefaultMQPushConsumer startConsumer(String group, String topic, Received sink) throws Exception {
        DefaultMQPushConsumer c = Clients.pushConsumer(cluster.nameServerAddr(), group, topic, sink);
        c.start();
        toClose.add(c::shutdown);
        return c;
    }

    private static void assertSendOk(SendResult r, Message m) {
        assertNotNull(r, "SendResult for " + Clients.describe(m));
        assertEquals(SendStatus.SEND_OK, r.getSendStatus(), "send status for " + Clients.describe(m));
        assertNotNull(r.getMsgId(), "SendResult.msgId");
        assertNotNull(r.getOffsetMsgId(), "SendResult.offsetMsgId");
        assertEquals(m.getTopic(), r.getMessageQueue().getTopic(), "SendResult queue topic");
        assertTrue(r.getQueueOffset() >= 0, "SendResult.queueOffset >= 0, was " + r.getQueueOffset());
    }

    /** Consumed messages carry the msgId (UNIQ_KEY), queue id and queue offset reported by the send. */
    private static void assertSameCoordinates(Map<String, SendResult> sent, Received received) {
        Map<String, MessageExt> byKey = new HashMap<>();
        for (MessageExt m : received.all()) {
            byKey.putIfAbsent(m.getKeys(), m);
        }
        sent.forEach((key, r) -> {
            MessageExt m = byKey.get(key);
            assertNotNull(m, "received " + key);
            assertEquals(r.getMsgId(), m.getMsgId(), "msgId of consumed message " + key + " = SendResult.msgId");
            assertEquals(r.getMessageQueue().getQueueId(), m.getQueueId(), "queueId of " + key);
            assertEquals(r.getQueueOffset(), m.getQueueOffset(), "queueOffset of " + key);
            assertEquals(r.getMessageQueue().getBrokerName(), m.getBrokerName(), "brokerName of " + key);
        });
    }

    // ------------------------------------------------------------------------------------------ 1 + 2

    @Test
    void syncSendThenPushConsume() throws Exception {
        String topic = newTopic("SyncTopic");
        List<Message> msgs = Clients.messages(topic, 40, 1024, "TagSync");
        Map<String, SendResult> results = new HashMap<>();
        Map<Integer, Long> lastOffset = new HashMap<>();
        Set<String> msgIds = new HashSet<>();
        for (Message m : msgs) {
            SendResult r = producer.send(m);
            assertSendOk(r, m);
            assertTrue(msgIds.add(r.getMsgId()), "msgIds must be unique: " + r.getMsgId());
            Long prev = lastOffset.put(r.getMessageQueue().getQueueId(), r.getQueueOffset());
            assertEquals(prev == null ? 0L : prev + 1, r.getQueueOffset(),
                "queue offsets of a fresh queue start at 0 and increase by 1 (queue " + r.getMessageQueue() + ")");
            results.put(m.getKeys(), r);
        }
        assertEquals(QUEUES, lastOffset.size(), "producer round-robins over all " + QUEUES + " queues");

        Received received = new Received();
        startConsumer(Clients.unique("sync_cg"), topic, received);
        received.assertExactly(msgs, RECEIVE_TIMEOUT, 1000, "push consumer (sync sends)");
        assertSameCoordinates(results, received);
    }

    @Test
    void asyncSendThenPushConsume() throws Exception {
        String topic = newTopic("AsyncTopic");
        List<Message> msgs = Clients.messages(topic, 40, 1024, "TagAsync");
        Map<String, SendResult> results = new ConcurrentHashMap<>();
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(msgs.size());
        for (Message m : msgs) {
            producer.send(m, new SendCallback() {
                @Override
                public void onSuccess(SendResult r) {
                    results.put(m.getKeys(), r);
                    done.countDown();
                }

                @Override
                public void onException(Throwable e) {
                    errors.add(e);
                    done.countDown();
                }
            });
        }
        assertTrue(done.await(60, TimeUnit.SECONDS), "all async send callbacks should fire within 60 s");
        assertEquals(List.of(), errors, "async send errors");
        for (Message m : msgs) {
            assertSendOk(results.get(m.getKeys()), m);
        }
        Received received = new Received();
        startConsumer(Clients.unique("async_cg"), topic, received);
        received.assertExactly(msgs, RECEIVE_TIMEOUT, 1000, "push consumer (async sends)");
        assertSameCoordinates(results, received);
    }

    @Test
    void onewaySendThenPushConsume() throws Exception {
        String topic = newTopic("OnewayTopic");
        List<Message> msgs = Clients.messages(topic, 40, 1024, "TagOneway");
        for (Message m : msgs) {
            producer.sendOneway(m);
        }
        Received received = new Received();
        startConsumer(Clients.unique("oneway_cg"), topic, received);
        received.assertExactly(msgs, RECEIVE_TIMEOUT, 1000, "push consumer (oneway sends)");
    }

    @Test
    void batchSendThenPushConsume() throws Exception {
        String topic = newTopic("BatchTopic");
        List<Message> all = new ArrayList<>();
        for (int b = 0; b < 3; b++) {
            List<Message> batch = Clients.messages(topic, 10, 1024, "TagBatch" + b);
            SendResult r = producer.send(batch);
            assertEquals(SendStatus.SEND_OK, r.getSendStatus(), "batch send status");
            assertNotNull(r.getMsgId(), "batch SendResult.msgId");
            // the response msgId is the comma-joined list of the batch's unique ids
            List<String> ids = Arrays.asList(r.getMsgId().split(","));
            List<String> expectedIds = batch.stream().map(MessageClientIDSetter::getUniqID).collect(Collectors.toList());
            assertEquals(expectedIds, ids, "batch SendResult.msgId lists the unique ids of the batch in order");
            assertTrue(r.getQueueOffset() >= 0, "batch queueOffset (first offset of the batch)");
            all.addAll(batch);
        }
        Received received = new Received();
        startConsumer(Clients.unique("batch_cg"), topic, received);
        received.assertExactly(all, RECEIVE_TIMEOUT, 1000, "push consumer (batch sends)");
        // offsets of one batch are consecutive in one queue
        Map<String, MessageExt> byKey = received.all().stream().collect(Collectors.toMap(MessageExt::getKeys, m -> m));
        for (int b = 0; b < 3; b++) {
            List<MessageExt> got = all.subList(b * 10, b * 10 + 10).stream().map(m -> byKey.get(m.getKeys()))
                .collect(Collectors.toList());
            for (int i = 1; i < got.size(); i++) {
                assertEquals(got.get(0).getQueueId(), got.get(i).getQueueId(), "one batch -> one queue");
                assertEquals(got.get(0).getQueueOffset() + i, got.get(i).getQueueOffset(),
                    "batch messages have consecutive queue offsets");
            }
        }
    }

    @Test
    void bodySizes1KiB8KiBAndNearMax() throws Exception {
        String topic = newTopic("SizeTopic");
        List<Message> msgs = new ArrayList<>();
        // 1 KiB and 8 KiB (>= 4 KiB: the client compresses the body, sysFlag COMPRESSED)
        for (int i = 0; i < 3; i++) {
            Message small = Clients.message(topic, 1024, "Size1K");
            Message eight = Clients.message(topic, 8 * 1024, "Size8K");
            assertSendOk(producer.send(small), small);
            assertSendOk(producer.send(eight), eight);
            msgs.add(small);
            msgs.add(eight);
        }
        // just under maxMessageSize, incompressible and sent uncompressed: a ~4 MiB frame on the wire
        DefaultMQProducer big = new DefaultMQProducer(Clients.unique("big_pg"));
        big.setNamesrvAddr(cluster.nameServerAddr());
        big.setInstanceName(Clients.unique("pbig"));
        big.setMaxMessageSize(Cluster.MAX_MESSAGE_SIZE);
        big.setCompressMsgBodyOverHowmuch(Integer.MAX_VALUE);
        big.setSendMsgTimeout(30_000);
        big.start();
        try {
            for (int i = 0; i < 2; i++) {
                Message m = Clients.message(topic, 0, "SizeMax");
                m.setBody(Clients.randomBody(Cluster.MAX_MESSAGE_SIZE - 1024));
                assertSendOk(big.send(m), m);
                msgs.add(m);
            }
        } finally {
            big.shutdown();
        }
        Received received = new Received();
        startConsumer(Clients.unique("size_cg"), topic, received);
        received.assertExactly(msgs, RECEIVE_TIMEOUT, 1000, "push consumer (1 KiB / 8 KiB / 4 MiB-1KiB bodies)");
    }

    // ------------------------------------------------------------------------------------------ 3

    private static Set<MessageQueue> assigned(DefaultMQPushConsumer c, String topic) {
        return c.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable().keySet().stream()
            .filter(mq -> mq.getTopic().equals(topic)).collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void twoConsumersOfOneGroupSplitQueues() throws Exception {
        String topic = newTopic("SplitTopic");
        String group = Clients.unique("split_cg");
        Received r1 = new Received();
        Received r2 = new Received();
        DefaultMQPushConsumer c1 = startConsumer(group, topic, r1);
        DefaultMQPushConsumer c2 = startConsumer(group, topic, r2);
        // wait for a stable split: disjoint, both non-empty, together all queues
        Wait.require(Duration.ofSeconds(45), 200, () -> {
            Set<MessageQueue> a = assigned(c1, topic);
            Set<MessageQueue> b = assigned(c2, topic);
            Set<MessageQueue> both = new HashSet<>(a);
            both.retainAll(b);
            return !a.isEmpty() && !b.isEmpty() && both.isEmpty() && a.size() + b.size() == QUEUES;
        }, () -> "rebalance of group " + group + " should split " + QUEUES + " queues between 2 consumers; c1="
            + assigned(c1, topic) + " c2=" + assigned(c2, topic));
        Set<Integer> q1 = assigned(c1, topic).stream().map(MessageQueue::getQueueId).collect(Collectors.toSet());
        Set<Integer> q2 = assigned(c2, topic).stream().map(MessageQueue::getQueueId).collect(Collectors.toSet());

        List<Message> msgs = Clients.messages(topic, 40, 256, "TagSplit");
        for (Message m : msgs) {
            assertSendOk(producer.send(m), m);
        }
        Received union = new Received();
        Wait.require(RECEIVE_TIMEOUT, 100, () -> r1.count() + r2.count() >= msgs.size(),
            () -> "two consumers together received " + (r1.count() + r2.count()) + " of " + msgs.size());
        Wait.sleep(1000);
        r1.all().forEach(union::add);
        r2.all().forEach(union::add);
        union.assertExactly(msgs, Duration.ofSeconds(1), 0, "union of both consumers of " + group);
        assertTrue(r1.count() > 0, "consumer 1 got some messages");
        assertTrue(r2.count() > 0, "consumer 2 got some messages");
        assertTrue(r1.all().stream().allMatch(m -> q1.contains(m.getQueueId())),
            "consumer 1 only gets messages of its queues " + q1);
        assertTrue(r2.all().stream().allMatch(m -> q2.contains(m.getQueueId())),
            "consumer 2 only gets messages of its queues " + q2);
    }

    @Test
    void twoGroupsEachReceiveEverything() throws Exception {
        String topic = newTopic("FanoutTopic");
        Received r1 = new Received();
        Received r2 = new Received();
        startConsumer(Clients.unique("fan1_cg"), topic, r1);
        startConsumer(Clients.unique("fan2_cg"), topic, r2);
        List<Message> msgs = Clients.messages(topic, 30, 256, "TagFan");
        for (Message m : msgs) {
            assertSendOk(producer.send(m), m);
        }
        r1.assertExactly(msgs, RECEIVE_TIMEOUT, 500, "group 1");
        r2.assertExactly(msgs, RECEIVE_TIMEOUT, 500, "group 2");
    }

    // ------------------------------------------------------------------------------------------ 4

    private static void pollInto(DefaultLitePullConsumer c, Received sink, Collection<Message> expected) {
        long deadline = System.currentTimeMillis() + RECEIVE_TIMEOUT.toMillis();
        while (!sink.containsAll(expected) && System.currentTimeMillis() < deadline) {
            for (MessageExt m : c.poll(500)) {
                sink.add(m);
            }
        }
    }

    @Test
    void litePullSubscribe() throws Exception {
        String topic = newTopic("LiteSubTopic");
        List<Message> msgs = Clients.messages(topic, 30, 512, "TagLite");
        for (Message m : msgs) {
            assertSendOk(producer.send(m), m);
        }
        DefaultLitePullConsumer c = new DefaultLitePullConsumer(Clients.unique("lite_cg"));
        c.setNamesrvAddr(cluster.nameServerAddr());
        c.setInstanceName(Clients.unique("lite"));
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.subscribe(topic, "*");
        c.start();
        try {
            Received received = new Received();
            pollInto(c, received, msgs);
            received.assertExactly(msgs, Duration.ofSeconds(1), 0, "lite pull consumer (subscribe)");
            // nothing more arrives
            assertTrue(c.poll(1000).isEmpty(), "no further messages after all were polled");
        } finally {
            c.shutdown();
        }
    }

    @Test
    void litePullAssignAndSeek() throws Exception {
        String topic = newTopic("LiteAssignTopic");
        String brokerName = cluster.broker().brokerName;
        MessageQueue mq = new MessageQueue(topic, brokerName, 1);
        List<Message> msgs = Clients.messages(topic, 10, 256, "TagSeek");
        for (int i = 0; i < msgs.size(); i++) {
            SendResult r = producer.send(msgs.get(i), mq);
            assertSendOk(r, msgs.get(i));
            assertEquals(1, r.getMessageQueue().getQueueId(), "sent to the selected queue");
            assertEquals(i, r.getQueueOffset(), "queue offset of message " + i);
        }
        DefaultLitePullConsumer c = new DefaultLitePullConsumer(Clients.unique("lite_assign_cg"));
        c.setNamesrvAddr(cluster.nameServerAddr());
        c.setInstanceName(Clients.unique("lite"));
        c.setAutoCommit(false);
        // Assign and pause before start: the 5.3.3 client's seek() races with an already running pull task (the
        // cancelled task can consume the seek offset), so no pull may be in flight while seeking.
        c.assign(List.of(mq));
        c.pause(List.of(mq));
        c.start();
        try {
            Collection<MessageQueue> queues = c.fetchMessageQueues(topic);
            assertEquals(QUEUES, queues.size(), "fetchMessageQueues(" + topic + ") = " + queues);
            assertTrue(queues.contains(mq), "fetched queues contain " + mq + ": " + queues);
            c.seek(mq, 6);
            c.resume(List.of(mq));
            List<MessageExt> got = new ArrayList<>();
            Wait.require(RECEIVE_TIMEOUT, 0, () -> {
                got.addAll(c.poll(500));
                return got.size() >= 4;
            }, () -> "polled " + got.size() + " of 4 messages after seek(6)");
            assertEquals(6L, got.get(0).getQueueOffset(), "first message after seek(mq, 6) has queue offset 6");
            assertEquals(msgs.get(6).getKeys(), got.get(0).getKeys(), "first message after seek is message #6");
            List<Long> offsets = got.stream().map(MessageExt::getQueueOffset).collect(Collectors.toList());
            assertEquals(List.of(6L, 7L, 8L, 9L), offsets, "offsets after seek(6)");

            // seek backwards to the beginning (again paused: the running pull task is long-polling at offset 10)
            c.pause(List.of(mq));
            c.seek(mq, 0);
            c.resume(List.of(mq));
            List<MessageExt> again = new ArrayList<>();
            Wait.require(RECEIVE_TIMEOUT, 0, () -> {
                again.addAll(c.poll(500));
                return again.size() >= 10;
            }, () -> "polled " + again.size() + " of 10 messages after seek(0)");
            assertEquals(0L, again.get(0).getQueueOffset(), "first message after seek(mq, 0) has queue offset 0");
            assertEquals(10, again.size(), "exactly the 10 messages after seek(0)");
        } finally {
            c.shutdown();
        }
    }
}
