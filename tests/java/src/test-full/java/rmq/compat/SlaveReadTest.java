package rmq.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import rmq.compat.support.Clients;
import rmq.compat.support.Cluster;
import rmq.compat.support.DumpServerLogsOnFailure;
import rmq.compat.support.Wait;

/**
 * A master ({@code SYNC_MASTER}, {@code inSyncReplicas=2}) and its slave with {@code slaveReadEnable}, no failover:
 * while the master is down, consumers read what the slave holds; when the master returns they carry on and skip
 * nothing. Runs against rmq and Apache RocketMQ 5.3.3 alike.
 */
class SlaveReadTest {
    private Cluster cluster;
    @RegisterExtension
    final DumpServerLogsOnFailure dumpLogs = new DumpServerLogsOnFailure(() -> cluster);

    @AfterEach
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void consumersReadFromTheSlaveWhileTheMasterIsDownAndSkipNothingWhenItReturns() throws Exception {
        cluster = Cluster.builder("SlaveReadTest")
            .broker("m")
            .slave("s1", "m", 1)
            .brokerPropertyOn("m", "brokerRole", "SYNC_MASTER")
            .brokerProperty("inSyncReplicas", "2")
            .brokerProperty("slaveReadEnable", "true")
            .start();
        String topic = Clients.unique("SlaveRead");
        try (Admin admin = new Admin(cluster.nameServerAddr())) {
            for (Cluster.Broker b : cluster.brokers()) {
                admin.ext.createAndUpdateTopicConfig(b.addr(), new TopicConfig(topic, 4, 4, 6));
            }
            admin.awaitRoute(topic, 1);
        }
        DefaultMQProducer producer = Clients.producer(cluster.nameServerAddr(), Clients.unique("pg_slave_read"));
        Set<String> acked = ConcurrentHashMap.newKeySet();
        Map<String, AtomicInteger> consumed = new ConcurrentHashMap<>();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(Clients.unique("cg_slave_read"));
        try {
            sendAll(producer, topic, 0, 300, acked);
            cluster.broker("m").forceKill();

            consumer.setNamesrvAddr(cluster.nameServerAddr());
            consumer.setInstanceName(Clients.unique("c"));
            consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
            consumer.setPollNameServerInterval(1000);
            consumer.subscribe(topic, "*");
            consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                for (MessageExt m : msgs) {
                    consumed.computeIfAbsent(m.getMsgId(), k -> new AtomicInteger()).incrementAndGet();
                }
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            consumer.start();
            Wait.require(Duration.ofSeconds(60), 100, () -> consumed.keySet().containsAll(acked),
                () -> "from the slave with the master down: consumed " + consumed.size() + " of " + acked.size());
            System.out.println("master down: consumed all " + acked.size() + " acknowledged messages from the slave");

            cluster.broker("m").start();
            sendAll(producer, topic, 300, 200, acked);
            Wait.require(Duration.ofSeconds(60), 100, () -> consumed.keySet().containsAll(acked),
                () -> "after the master returned: consumed " + consumed.size() + " of " + acked.size());
            long duplicated = consumed.values().stream().filter(c -> c.get() > 1).count();
            System.out.println("master back: consumed " + consumed.size() + " distinct of " + acked.size()
                + " acknowledged, duplicated " + duplicated);
            assertEquals(500, acked.size());
            assertTrue(consumed.keySet().containsAll(acked));
        } finally {
            consumer.shutdown();
            producer.shutdown();
        }
    }

    /** Sends {@code n} messages, retrying each until it is acknowledged (the master may be restarting). */
    private static void sendAll(DefaultMQProducer producer, String topic, int from, int n, Set<String> acked) {
        List<String> errors = new ArrayList<>();
        for (int i = from; i < from + n; i++) {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (true) {
                try {
                    SendResult r = producer.send(new Message(topic, ("m-" + i).getBytes()));
                    if (r.getSendStatus() == SendStatus.SEND_OK) {
                        acked.add(r.getMsgId());
                        break;
                    }
                    errors.add(r.getSendStatus().name());
                } catch (Exception e) {
                    errors.add(e.toString());
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("send " + i + " never acknowledged: " + errors);
                }
                Wait.sleep(200);
            }
        }
    }
}
