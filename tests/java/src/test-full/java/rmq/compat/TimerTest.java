package rmq.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.Test;

import rmq.compat.support.Clients;
import rmq.compat.support.Wait;

/**
 * RocketMQ 5 timer messages (deliverTimeMs / delayTimeSec / delayTimeMs): delivered no earlier than the due time
 * minus the 1 s timer precision and within 2 s after it; due times that pass while the broker is down are delivered
 * within 2 s of it being ready again; delays over timerMaxDelaySec are refused.
 */
class TimerTest extends OneBrokerTest {
    private static final long PRECISION_MS = 1000;
    private static final long LATE_MS = 2000;

    private static final class Arrivals implements MessageListenerConcurrently {
        final Map<String, MessageExt> byBody = new ConcurrentHashMap<>();
        final Map<String, Long> at = new ConcurrentHashMap<>();

        @Override
        public ConsumeConcurrentlyStatus consumeMessage(java.util.List<MessageExt> msgs,
            org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyContext ctx) {
            long now = System.currentTimeMillis();
            for (MessageExt m : msgs) {
                String body = new String(m.getBody(), StandardCharsets.UTF_8);
                byBody.put(body, m);
                at.putIfAbsent(body, now);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        }
    }

    @Test
    void timerMessagesArriveOnTime() throws Exception {
        String topic = Clients.unique("Timer");
        Arrivals arrivals = new Arrivals();
        DefaultMQPushConsumer c = consumer(topic, MessageSelector.byTag("*"), arrivals);
        c.start();
        try {
            producer.send(new Message(topic, "warm-up".getBytes(StandardCharsets.UTF_8)));
            Wait.require(Duration.ofSeconds(60), 100, () -> arrivals.at.containsKey("warm-up"), () -> "warm-up");
            long now = System.currentTimeMillis();
            Map<String, Long> due = new ConcurrentHashMap<>();
            Message deliverAt = new Message(topic, "TagT", "deliver-at".getBytes(StandardCharsets.UTF_8));
            deliverAt.setDeliverTimeMs(now + 4000);
            deliverAt.putUserProperty("color", "blue");
            due.put("deliver-at", now + 4000);
            Message delaySec = new Message(topic, "delay-sec".getBytes(StandardCharsets.UTF_8));
            delaySec.setDelayTimeSec(3);
            due.put("delay-sec", now + 3000);
            Message delayMs = new Message(topic, "delay-ms".getBytes(StandardCharsets.UTF_8));
            delayMs.setDelayTimeMs(2500);
            due.put("delay-ms", now + 2500);
            for (Message m : new Message[] {deliverAt, delaySec, delayMs}) {
                SendResult r = producer.send(m);
                assertEquals(SendStatus.SEND_OK, r.getSendStatus());
            }
            Wait.require(Duration.ofSeconds(30), 50, () -> arrivals.at.keySet().containsAll(due.keySet()),
                () -> "timer messages not delivered: " + arrivals.at.keySet());
            for (Map.Entry<String, Long> e : due.entrySet()) {
                long arrived = arrivals.at.get(e.getKey());
                assertTrue(arrived >= e.getValue() - PRECISION_MS, e.getKey() + " arrived "
                    + (e.getValue() - arrived) + " ms early");
                assertTrue(arrived <= e.getValue() + LATE_MS, e.getKey() + " arrived " + (arrived - e.getValue())
                    + " ms late");
            }
            MessageExt m = arrivals.byBody.get("deliver-at");
            assertEquals(topic, m.getTopic(), "delivered to its real topic");
            assertEquals("TagT", m.getTags());
            assertEquals("blue", m.getUserProperty("color"));
        } finally {
            c.shutdown();
        }
    }

    @Test
    void timerDueWhileTheBrokerIsDownIsDeliveredRightAfterRestart() throws Exception {
        String topic = Clients.unique("TimerRestart");
        producer.send(new Message(topic, "create".getBytes(StandardCharsets.UTF_8)));
        Message m = new Message(topic, "due-while-down".getBytes(StandardCharsets.UTF_8));
        long due = System.currentTimeMillis() + 3000;
        m.setDeliverTimeMs(due);
        assertEquals(SendStatus.SEND_OK, producer.send(m).getSendStatus());
        assertTrue(cluster.broker().stopGracefully(), "broker stopped");
        long wait = due + 1000 - System.currentTimeMillis();
        if (wait > 0) {
            Wait.sleep(wait);
        }
        cluster.broker().start();
        long ready = System.currentTimeMillis();
        Arrivals arrivals = new Arrivals();
        DefaultMQPushConsumer c = consumer(topic, MessageSelector.byTag("*"), arrivals);
        c.start();
        try {
            Wait.require(Duration.ofSeconds(60), 100, () -> arrivals.byBody.containsKey("due-while-down"),
                () -> "the timer message was not delivered after the restart");
            long stored = arrivals.byBody.get("due-while-down").getStoreTimestamp();
            assertTrue(stored >= due - PRECISION_MS, "delivered before its due time");
            assertTrue(stored <= ready + LATE_MS, "delivered " + (stored - ready) + " ms after the broker was ready");
        } finally {
            c.shutdown();
        }
    }

    @Test
    void delayBeyondTheMaximumIsRefused() {
        Message m = new Message(Clients.unique("TimerTooFar"), "too-far".getBytes(StandardCharsets.UTF_8));
        m.setDeliverTimeMs(System.currentTimeMillis() + Duration.ofDays(4).toMillis());
        MQBrokerException e = assertThrows(MQBrokerException.class, () -> producer.send(m));
        assertEquals(13, e.getResponseCode(), "MESSAGE_ILLEGAL: " + e.getMessage());
    }
}
