package rmq.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.rebalance.AllocateMessageQueueAveragely;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.Test;

import rmq.compat.support.Clients;
import rmq.compat.support.Cluster;
import rmq.compat.support.Wait;

/**
 * Message tracing: with {@code enableMsgTrace} the Java client sends trace records to RMQ_SYS_TRACE_TOPIC (created by
 * the broker when {@code traceTopicEnable=true}); mqadmin {@code queryMsgTraceById} then shows the message's send and
 * its consumption.
 */
class TraceTest extends OneBrokerTest {
    @Override
    protected Cluster.Builder configure(Cluster.Builder builder) {
        return builder.brokerProperty("traceTopicEnable", "true");
    }

    @Test
    void tracedMessageShowsItsSendAndConsumption() throws Exception {
        String topic = Clients.unique("Traced");
        String pg = Clients.unique("trace_pg");
        String cg = Clients.unique("trace_cg");
        DefaultMQProducer traced = new DefaultMQProducer(pg, null, true, null);
        traced.setNamesrvAddr(cluster.nameServerAddr());
        traced.setInstanceName(Clients.unique("tp"));
        traced.start();
        List<MessageExt> received = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(cg, null, new AllocateMessageQueueAveragely(), true, null);
        consumer.setNamesrvAddr(cluster.nameServerAddr());
        consumer.setInstanceName(Clients.unique("tc"));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            received.addAll(msgs);
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        MqAdmin mqadmin = new MqAdmin(cluster.nameServerAddr(), cluster.dir.resolve("mqadmin-trace"));
        try {
            SendResult sent = traced.send(new Message(topic, "TagT", "trace-key", "traced".getBytes(StandardCharsets.UTF_8)));
            assertEquals(SendStatus.SEND_OK, sent.getSendStatus());
            consumer.start();
            Wait.require(Duration.ofSeconds(60), 200, () -> received.size() >= 1, () -> "traced message not consumed");
            String[] output = new String[1];
            boolean shown = Wait.until(Duration.ofSeconds(60), 2000, () -> {
                try {
                    output[0] = mqadmin.run("queryMsgTraceById", "-i", sent.getMsgId()).output;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                return output[0].contains("Pub") && output[0].contains("Sub ");
            });
            if (!shown) {
                output[0] += "\n" + mqadmin.run("topicStatus", "-t", "RMQ_SYS_TRACE_TOPIC").output
                    + "\n" + mqadmin.run("queryMsgByKey", "-t", "RMQ_SYS_TRACE_TOPIC", "-k", sent.getMsgId()).output;
            }
            assertTrue(shown, "queryMsgTraceById lists the send and the consumption:\n" + output[0]);
            assertTrue(output[0].contains(pg), "the producer group is in the trace:\n" + output[0]);
            assertTrue(output[0].contains(cg), "the consumer group is in the trace:\n" + output[0]);
        } finally {
            consumer.shutdown();
            traced.shutdown();
        }
    }
}
