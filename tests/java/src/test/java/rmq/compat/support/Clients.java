package rmq.compat.support;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;

/** Factories for official-client producers/consumers and test messages (API common to 4.9.8 and 5.3.3). */
public final class Clients {
    private static final AtomicInteger SEQ = new AtomicInteger();

    private Clients() {}

    /** A short unique name: prefix + run-unique suffix (topics, groups, instance names). */
    public static String unique(String prefix) {
        return prefix + "_" + Long.toString(System.currentTimeMillis() % 100_000_000L, 36) + "_"
            + SEQ.incrementAndGet();
    }

    /** A started producer with its own client instance. */
    public static DefaultMQProducer producer(String namesrvAddr, String group) throws MQClientException {
        DefaultMQProducer p = new DefaultMQProducer(group);
        p.setNamesrvAddr(namesrvAddr);
        p.setInstanceName(unique("p"));
        p.setSendMsgTimeout(15_000);
        p.setMaxMessageSize(Cluster.MAX_MESSAGE_SIZE);
        p.start();
        return p;
    }

    /** A push consumer (CLUSTERING, from first offset) not yet started. */
    public static DefaultMQPushConsumer pushConsumer(String namesrvAddr, String group, String topic,
                                                     Received sink) throws MQClientException {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(namesrvAddr);
        c.setInstanceName(unique("c"));
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.setConsumeThreadMin(2);
        c.setConsumeThreadMax(4);
        c.setPersistConsumerOffsetInterval(1000);
        c.subscribe(topic, "*");
        c.registerMessageListener(sink.listener());
        return c;
    }

    /** A test message with a unique key, a tag and two user properties; the body has {@code size} bytes. */
    public static Message message(String topic, int size, String tag) {
        String key = "k-" + UUID.randomUUID();
        Message m = new Message(topic, tag, key, body(size, key));
        m.putUserProperty("testKey", key);
        m.putUserProperty("testSize", String.valueOf(size));
        return m;
    }

    public static List<Message> messages(String topic, int count, int size, String tag) {
        List<Message> l = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            l.add(message(topic, size, tag));
        }
        return l;
    }

    /**
     * Body of exactly {@code size} bytes: the key followed by semi-random printable text (compressible, like
     * real payloads, but not trivially so).
     */
    public static byte[] body(int size, String key) {
        byte[] b = new byte[size];
        byte[] k = (key + ":").getBytes(StandardCharsets.UTF_8);
        ThreadLocalRandom r = ThreadLocalRandom.current();
        for (int i = 0; i < size; i++) {
            b[i] = i < k.length ? k[i] : (byte) ('a' + r.nextInt(16));
        }
        return b;
    }

    /** Fully random (incompressible) body. */
    public static byte[] randomBody(int size) {
        byte[] b = new byte[size];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }

    public static String describe(Message m) {
        Map<String, String> p = m.getProperties();
        return "Message{topic=" + m.getTopic() + ", keys=" + m.getKeys() + ", tags=" + m.getTags() + ", body="
            + (m.getBody() == null ? 0 : m.getBody().length) + "B, props=" + p + "}";
    }
}
