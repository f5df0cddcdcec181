package rmq.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.remoting.protocol.heartbeat.MessageModel;
import org.junit.jupiter.api.Test;

import rmq.compat.support.Clients;
import rmq.compat.support.Wait;

/** Broadcasting: every consumer of the group receives every message. */
class BroadcastTest extends OneBrokerTest {

    private DefaultMQPushConsumer consumer(String group, String topic, Set<String> sink) throws Exception {
        DefaultMQPushConsumer c = consumer(topic, MessageSelector.byTag("*"), (MessageListenerConcurrently) (msgs, ctx) -> {
            msgs.forEach(m -> sink.add(m.getKeys()));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.setConsumerGroup(group);
        c.setMessageModel(MessageModel.BROADCASTING);
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
