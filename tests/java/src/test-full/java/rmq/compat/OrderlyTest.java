package rmq.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.Test;

import rmq.compat.support.Clients;
import rmq.compat.support.Wait;

/** An orderly push consumer (queue locks) receives each queue's messages in send order. */
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
}
