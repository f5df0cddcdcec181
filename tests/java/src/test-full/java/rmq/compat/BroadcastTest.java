package rmq.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.remoting.protocol.heartbeat.MessageModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;

import rmq.compat.support.Clients;
import rmq.compat.support.Cluster;
import rmq.compat.support.DumpServerLogsOnFailure;
import rmq.compat.support.Wait;

/** Broadcasting: every consumer of the group receives every message. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BroadcastTest {
    private Cluster cluster;
    @RegisterExtension
    final DumpServerLogsOnFailure dumpLogs = new DumpServerLogsOnFailure(() -> cluster);
    private DefaultMQProducer producer;

    @BeforeAll
    void start() throws Exception {
        cluster = Cluster.builder("BroadcastTest").start();
        producer = Clients.producer(cluster.nameServerAddr(), Clients.unique("bc_pg"));
    }

    @AfterAll
    void stop() {
        if (producer != null) {
            producer.shutdown();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    private DefaultMQPushConsumer consumer(String group, String topic, Set<String> sink) throws Exception {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(cluster.nameServerAddr());
        c.setInstanceName(Clients.unique("bc"));
        c.setMessageModel(MessageModel.BROADCASTING);
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            msgs.forEach(m -> sink.add(m.getKeys()));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        return c;
    }

    @Test
    void everyConsumerOfABroadcastGroupGetsEverything() throws Exception {
        String topic = Clients.unique("BcTopic");
        String group = Clients.unique("bc_cg");
        producer.send(new Message(topic, "warmup", "warmup", "w".getBytes()));
        Set<String> first = ConcurrentHashMap.newKeySet();
        Set<String> second = ConcurrentHashMap.newKeySet();
        DefaultMQPushConsumer a = consumer(group, topic, first);
        DefaultMQPushConsumer b = consumer(group, topic, second);
        a.start();
        b.start();
        try {
            Wait.require(Duration.ofSeconds(60), 100, () -> first.contains("warmup") && second.contains("warmup"),
                () -> "both broadcast consumers should be running: " + first + " / " + second);
            Set<String> expected = new TreeSet<>();
            for (int i = 0; i < 10; i++) {
                String key = "bc" + i;
                expected.add(key);
                assertEquals(SendStatus.SEND_OK, producer.send(new Message(topic, "T", key, key.getBytes())).getSendStatus());
            }
            Wait.require(Duration.ofSeconds(60), 100, () -> first.containsAll(expected) && second.containsAll(expected),
                () -> "each broadcast consumer should get all 10: " + first + " / " + second);
        } finally {
            a.shutdown();
            b.shutdown();
        }
    }
}
