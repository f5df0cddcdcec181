package rmq.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.RequestTimeoutException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.utils.MessageUtil;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.Test;

import rmq.compat.support.Clients;
import rmq.compat.support.Wait;

/**
 * Request-reply: {@code DefaultMQProducer.request()} (its callback form, see {@link Requests#request}) sends a message carrying CORRELATION_ID, REPLY_TO_CLIENT and TTL;
 * a consumer answers with {@code MessageUtil.createReplyMessage} (topic {@code <cluster>_REPLY_TOPIC}, sent as
 * SEND_REPLY_MESSAGE_V2); the broker pushes the reply to the requester (PUSH_REPLY_MESSAGE_TO_CLIENT).
 */
class RequestReplyTest extends OneBrokerTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @Test
    void requestGetsTheReplyAConsumerCreatesWithMessageUtil() throws Exception {
        String topic = Clients.unique("RequestTopic");
        DefaultMQProducer requester = Clients.producer(cluster.nameServerAddr(), Clients.unique("requester_pg"));
        List<MessageExt> requests = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer replier = consumer(topic, MessageSelector.byTag("*"), (MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                requests.add(m);
                if (m.getProperty(MessageConst.PROPERTY_CORRELATION_ID) == null) {
                    continue;
                }
                try {
                    byte[] body = ("re:" + new String(m.getBody(), StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
                    producer.send(MessageUtil.createReplyMessage(m, body));
                } catch (Exception e) {
                    return ConsumeConcurrentlyStatus.RECONSUME_LATER;
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        producer.send(new Message(topic, "warm-up".getBytes(StandardCharsets.UTF_8)));
        replier.start();
        try {
            Wait.require(WAIT, 100, () -> !requests.isEmpty(), () -> "the warm-up message was not consumed");
            Requests.warmUp(requester, topic);
            Message reply = Requests.request(requester, new Message(topic, "TagR", "ping".getBytes(StandardCharsets.UTF_8)), 10_000)
                .get(20, TimeUnit.SECONDS);
            assertEquals("re:ping", new String(reply.getBody(), StandardCharsets.UTF_8));
            assertEquals(cluster.clusterName + "_REPLY_TOPIC", reply.getTopic());
            MessageExt request = requests.stream()
                .filter(m -> "ping".equals(new String(m.getBody(), StandardCharsets.UTF_8)))
                .findFirst().orElseThrow();
            assertEquals(request.getProperty(MessageConst.PROPERTY_CORRELATION_ID),
                reply.getProperty(MessageConst.PROPERTY_CORRELATION_ID), "the reply names its request");
            assertEquals(requester.getDefaultMQProducerImpl().getMqClientFactory().getClientId(),
                request.getProperty(MessageConst.PROPERTY_MESSAGE_REPLY_TO_CLIENT));
            assertEquals("10000", request.getProperty(MessageConst.PROPERTY_MESSAGE_TTL));
            assertEquals(cluster.clusterName, request.getProperty(MessageConst.PROPERTY_CLUSTER));
        } finally {
            replier.shutdown();
            requester.shutdown();
        }
    }

    @Test
    void requestNobodyAnswersTimesOut() throws Exception {
        String topic = Clients.unique("UnansweredTopic");
        producer.send(new Message(topic, "create".getBytes(StandardCharsets.UTF_8)));
        DefaultMQProducer requester = Clients.producer(cluster.nameServerAddr(), Clients.unique("requester_pg"));
        try {
            Requests.warmUp(requester, topic);
            long start = System.currentTimeMillis();
            CompletableFuture<Message> reply = Requests.request(requester, new Message(topic, "anyone?".getBytes(StandardCharsets.UTF_8)), 2000);
            ExecutionException failed = assertThrows(ExecutionException.class, () -> reply.get(20, TimeUnit.SECONDS));
            assertTrue(failed.getCause() instanceof RequestTimeoutException, "failed with " + failed.getCause());
            long waited = System.currentTimeMillis() - start;
            assertTrue(waited >= 1900 && waited < 10_000, "timed out after " + waited + " ms");
        } finally {
            requester.shutdown();
        }
    }
}
