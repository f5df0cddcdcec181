package rmq.compat;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;

import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.RequestCallback;
import org.apache.rocketmq.common.message.Message;

/** Request-reply with the Java 5.3.3 client, shared by the tests that make requests. */
final class Requests {
    private Requests() {
    }

    /**
     * {@code request(msg, callback, timeout)}: the synchronous {@code request(msg, timeout)} of the 5.3.x Java client
     * throws RequestTimeoutException as soon as the send succeeds, before any reply can come, against any broker
     * (apache/rocketmq#9319: its send callback counts the reply latch down), so RPC users of 5.3.3 use this form,
     * whose callback 5.3.3 calls once with null when the request is sent and again with the reply.
     */
    static CompletableFuture<Message> request(DefaultMQProducer requester, Message msg, long timeoutMillis)
        throws Exception {
        CompletableFuture<Message> reply = new CompletableFuture<>();
        requester.request(msg, new RequestCallback() {
            @Override
            public void onSuccess(Message message) {
                // 5.3.3 also calls onSuccess(null) when the request is sent; the reply comes later.
                if (message != null) {
                    reply.complete(message);
                }
            }

            @Override
            public void onException(Throwable e) {
                reply.completeExceptionally(e);
            }
        }, timeoutMillis);
        return reply;
    }

    /**
     * The broker pushes a reply to the requester's connection, which it knows from the requester's heartbeat: a
     * long-lived RPC producer has long sent one; a fresh one sends its first after it learns the topic's route.
     */
    static void warmUp(DefaultMQProducer requester, String topic) throws Exception {
        requester.send(new Message(topic, "route".getBytes(StandardCharsets.UTF_8)));
        requester.getDefaultMQProducerImpl().getMqClientFactory().sendHeartbeatToAllBrokerWithLock();
    }
}
