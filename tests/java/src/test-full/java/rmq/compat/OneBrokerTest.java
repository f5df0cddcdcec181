package rmq.compat;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.MessageListener;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;

import rmq.compat.support.Clients;
import rmq.compat.support.Cluster;
import rmq.compat.support.DumpServerLogsOnFailure;

/** A test class with one NameServer, one broker and one producer, shared by its tests. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class OneBrokerTest {
    protected Cluster cluster;
    @RegisterExtension
    final DumpServerLogsOnFailure dumpLogs = new DumpServerLogsOnFailure(() -> cluster);
    protected DefaultMQProducer producer;

    /** Adds broker properties for this class. */
    protected Cluster.Builder configure(Cluster.Builder builder) {
        return builder;
    }

    @BeforeAll
    void startCluster() throws Exception {
        String name = getClass().getSimpleName();
        cluster = configure(Cluster.builder(name)).start();
        producer = Clients.producer(cluster.nameServerAddr(), Clients.unique(name.toLowerCase() + "_pg"));
    }

    @AfterAll
    void stopCluster() {
        if (producer != null) {
            producer.shutdown();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    /** A push consumer of a new group on `topic`, reading from the first offset; not started. */
    protected DefaultMQPushConsumer consumer(String topic, MessageSelector selector, MessageListener listener)
        throws MQClientException {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(Clients.unique("cg"));
        c.setNamesrvAddr(cluster.nameServerAddr());
        c.setInstanceName(Clients.unique("c"));
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.subscribe(topic, selector);
        c.registerMessageListener(listener);
        return c;
    }
}
