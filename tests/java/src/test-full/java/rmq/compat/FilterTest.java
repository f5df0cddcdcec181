package rmq.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.junit.jupiter.api.Test;

import rmq.compat.support.Clients;
import rmq.compat.support.Cluster;
import rmq.compat.support.Wait;

/** Tag and SQL92 subscriptions deliver exactly the matching messages. */
class FilterTest extends OneBrokerTest {

    @Override
    protected Cluster.Builder configure(Cluster.Builder builder) {
        return builder.brokerProperty("enablePropertyFilter", "true");
    }

    private DefaultMQPushConsumer consumer(String topic, MessageSelector selector, Set<String> sink) throws Exception {
        return consumer(topic, selector, (MessageListenerConcurrently) (msgs, ctx) -> {
            msgs.forEach(m -> sink.add(m.getKeys()));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
    }

    @Test
    void tagAndSqlSubscriptionsReceiveOnlyMatches() throws Exception {
        String topic = Clients.unique("FilterTopic");
        for (int i = 0; i < 10; i++) {
            Message m = new Message(topic, i % 2 == 0 ? "TagA" : "TagB", "k" + i, ("body" + i).getBytes());
            m.putUserProperty("a", String.valueOf(i));
            m.putUserProperty("color", i % 3 == 0 ? "red" : "blue");
            assertEquals(SendStatus.SEND_OK, producer.send(m).getSendStatus());
        }
        Set<String> byTag = ConcurrentHashMap.newKeySet();
        Set<String> bySql = ConcurrentHashMap.newKeySet();
        DefaultMQPushConsumer tagConsumer = consumer(topic, MessageSelector.byTag("TagA"), byTag);
        DefaultMQPushConsumer sqlConsumer = consumer(topic, MessageSelector.bySql("a > 2 AND color = 'red'"), bySql);
        tagConsumer.start();
        sqlConsumer.start();
        try {
            Set<String> evens = new TreeSet<>(Set.of("k0", "k2", "k4", "k6", "k8"));
            Set<String> sqlMatches = new TreeSet<>(Set.of("k3", "k6", "k9"));
            Wait.require(Duration.ofSeconds(60), 200, () -> byTag.containsAll(evens) && bySql.containsAll(sqlMatches),
                () -> "tag consumer got " + byTag + ", sql consumer got " + bySql);
            Wait.sleep(3000);
            assertEquals(evens, new TreeSet<>(byTag), "TagA subscription gets exactly the TagA messages");
            assertEquals(sqlMatches, new TreeSet<>(bySql), "SQL92 subscription gets exactly a > 2 AND color = 'red'");
        } finally {
            tagConsumer.shutdown();
            sqlConsumer.shutdown();
        }
    }

    @Test
    void invalidSqlExpressionIsRejectedAtStart() throws Exception {
        String topic = Clients.unique("FilterBadTopic");
        producer.send(new Message(topic, "x".getBytes()));
        DefaultMQPushConsumer c = consumer(topic, MessageSelector.bySql("a > AND"), ConcurrentHashMap.newKeySet());
        try {
            assertThrows(MQClientException.class, c::start, "an invalid SQL92 expression fails the consumer start");
        } finally {
            c.shutdown();
        }
    }
}
