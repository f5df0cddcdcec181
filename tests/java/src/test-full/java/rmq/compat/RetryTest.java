package rmq.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.Test;

import rmq.compat.support.Clients;
import rmq.compat.support.Wait;

/** RECONSUME_LATER re-delivers the message after the retry delay; delay levels hold messages back. */
class RetryTest extends OneBrokerTest {

    @Test
    void reconsumeLaterRedeliversWithIncreasedReconsumeTimes() throws Exception {
        String topic = Clients.unique("RetryTopic");
        Message m = new Message(topic, "Retry", "retry-me".getBytes());
        m.setKeys("retry-key");
        m.putUserProperty("color", "red");
        SendResult r = producer.send(m);
        assertEquals(SendStatus.SEND_OK, r.getSendStatus());

        List<MessageExt> deliveries = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer consumer = consumer(topic, MessageSelector.byTag("*"), (MessageListenerConcurrently) (msgs, ctx) -> {
            deliveries.addAll(msgs);
            return deliveries.size() == 1 ? ConsumeConcurrentlyStatus.RECONSUME_LATER
                : ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        consumer.start();
        try {
            Wait.require(Duration.ofSeconds(60), 200, () -> deliveries.size() >= 2,
                () -> "expected a redelivery after RECONSUME_LATER, got " + deliveries.size() + " deliveries");
            MessageExt first = deliveries.get(0);
            MessageExt again = deliveries.get(1);
            assertEquals(topic, again.getTopic(), "redelivered message carries its original topic");
            assertEquals("retry-me", new String(again.getBody()));
            assertEquals("retry-key", again.getKeys());
            assertEquals("red", again.getUserProperty("color"));
            assertEquals(0, first.getReconsumeTimes());
            assertEquals(1, again.getReconsumeTimes());
            long gapMs = again.getStoreTimestamp() - first.getStoreTimestamp();
            assertTrue(gapMs >= 9_000, "retry level 3 waits about 10 s, waited " + gapMs + " ms");
            Wait.sleep(3000);
            assertEquals(2, deliveries.size(), "no further deliveries after success");
        } finally {
            consumer.shutdown();
        }
    }

    @Test
    void delayLevelHoldsMessageBack() throws Exception {
        String topic = Clients.unique("DelayTopic");
        List<Long> receivedAt = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer consumer = consumer(topic, MessageSelector.byTag("*"), (MessageListenerConcurrently) (msgs, ctx) -> {
            msgs.forEach(x -> receivedAt.add(System.currentTimeMillis()));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        // create the topic first so the consumer's route exists
        producer.send(new Message(topic, "warmup".getBytes()));
        consumer.start();
        try {
            Wait.require(Duration.ofSeconds(60), 100, () -> receivedAt.size() >= 1, () -> "warm-up message not consumed");
            Message m = new Message(topic, "delayed".getBytes());
            m.setDelayTimeLevel(2); // 5 s
            long sentAt = System.currentTimeMillis();
            assertEquals(SendStatus.SEND_OK, producer.send(m).getSendStatus());
            Wait.require(Duration.ofSeconds(60), 100, () -> receivedAt.size() >= 2, () -> "delayed message not consumed");
            long waited = receivedAt.get(1) - sentAt;
            assertTrue(waited >= 4_000, "delay level 2 (5 s) held the message back, waited " + waited + " ms");
        } finally {
            consumer.shutdown();
        }
    }
}
