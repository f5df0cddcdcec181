package rmq.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.MixAll;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.Test;

import rmq.compat.support.Clients;
import rmq.compat.support.Wait;

/**
 * An orderly push consumer (queue locks) receives each queue's messages in send order; a message it keeps suspending
 * is retried in place maxReconsumeTimes times, then moved to the group's DLQ (Apache: the consumer sends it to
 * %RETRY%group and the broker, seeing the group's queue lock, stores it straight in %DLQ%group).
 */
class OrderlyTest extends OneBrokerTest {

    @Test
    void orderlyConsumerSeesEachOrderInSequence() throws Exception {
        String topic = Clients.unique("OrderTopic");
        int orders = 3;
        int steps = 20;
        for (int step = 0; step < steps; step++) {
            for (int order = 0; order < orders; order++) {
                Message m = new Message(topic, "Order", ("order-" + order + "-step-" + step).getBytes());
                m.setKeys("order-" + order);
                SendResult r = producer.send(m, (mqs, msg, arg) -> mqs.get((Integer) arg % mqs.size()), order);
                assertEquals(SendStatus.SEND_OK, r.getSendStatus());
            }
        }
        Map<String, List<Integer>> seen = new ConcurrentHashMap<>();
        DefaultMQPushConsumer consumer = consumer(topic, MessageSelector.byTag("*"), (MessageListenerOrderly) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                String[] parts = new String(m.getBody()).split("-");
                seen.computeIfAbsent(m.getKeys(), k -> new ArrayList<>()).add(Integer.parseInt(parts[3]));
            }
            return ConsumeOrderlyStatus.SUCCESS;
        });
        consumer.start();
        try {
            Wait.require(Duration.ofSeconds(60), 200,
                () -> seen.values().stream().mapToInt(List::size).sum() >= orders * steps,
                () -> "orderly consumer received " + seen);
            for (int order = 0; order < orders; order++) {
                List<Integer> got = seen.get("order-" + order);
                List<Integer> expected = new ArrayList<>();
                for (int step = 0; step < steps; step++) {
                    expected.add(step);
                }
                assertEquals(expected, got, "order-" + order + " consumed in send order, once each");
            }
        } finally {
            consumer.shutdown();
        }
    }

    @Test
    void suspendedMessageGoesToTheDeadLetterQueueAfterMaxReconsumeTimes() throws Exception {
        String topic = Clients.unique("OrderDlqTopic");
        Message m = new Message(topic, "Dlq", "order-dlq-key", "suspend-me".getBytes());
        SendResult sent = producer.send(m);
        assertEquals(SendStatus.SEND_OK, sent.getSendStatus());
        // The client hands the same MessageExt to every retry and bumps its reconsumeTimes: copy what is seen.
        List<String> deliveries = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer consumer = consumer(topic, MessageSelector.byTag("*"), (MessageListenerOrderly) (msgs, ctx) -> {
            msgs.forEach(x -> deliveries.add(x.getMsgId() + "#" + x.getReconsumeTimes()));
            ctx.setSuspendCurrentQueueTimeMillis(200);
            return ConsumeOrderlyStatus.SUSPEND_CURRENT_QUEUE_A_MOMENT;
        });
        consumer.setMaxReconsumeTimes(2);
        String group = consumer.getConsumerGroup();
        consumer.start();
        List<MessageExt> dead = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer dlqReader = null;
        try {
            Wait.require(Duration.ofSeconds(60), 100, () -> deliveries.size() >= 3,
                () -> "orderly consumer got " + deliveries.size() + " deliveries");
            String dlqTopic = MixAll.getDLQTopic(group);
            Wait.require(Duration.ofSeconds(60), 500, () -> {
                try {
                    producer.getDefaultMQProducerImpl().getMqClientFactory().getMQClientAPIImpl()
                        .getTopicRouteInfoFromNameServer(dlqTopic, 3000);
                    return true;
                } catch (Exception e) {
                    return false;
                }
            }, () -> dlqTopic + " never got a route");
            dlqReader = consumer(dlqTopic, MessageSelector.byTag("*"),
                (MessageListenerConcurrently) (msgs, ctx) -> {
                    dead.addAll(msgs);
                    return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
                });
            dlqReader.start();
            Wait.require(Duration.ofSeconds(60), 200, () -> !dead.isEmpty(), () -> "nothing arrived in " + dlqTopic);
            Wait.sleep(2000);
            String id = sent.getMsgId();
            assertEquals(List.of(id + "#0", id + "#1", id + "#2"), deliveries,
                "delivered maxReconsumeTimes + 1 times, then no more");
            assertEquals(1, dead.size(), "one message in the DLQ: " + dead);
            MessageExt d = dead.get(0);
            System.out.println("DLQ message: " + d + " properties " + d.getProperties());
            assertEquals(sent.getMsgId(), d.getMsgId(), "the DLQ message keeps its message id");
            assertEquals(MixAll.getDLQTopic(group), d.getTopic());
            assertEquals(topic, d.getProperty(MessageConst.PROPERTY_RETRY_TOPIC), "the original topic");
            assertEquals(sent.getMsgId(), d.getProperty(MessageConst.PROPERTY_ORIGIN_MESSAGE_ID));
            assertEquals("suspend-me", new String(d.getBody()));
            assertEquals("order-dlq-key", d.getKeys());
            assertEquals("Dlq", d.getTags());
            assertEquals(3, d.getReconsumeTimes(), "stored with the delivery count");
        } finally {
            consumer.shutdown();
            if (dlqReader != null) {
                dlqReader.shutdown();
            }
        }
    }
}
