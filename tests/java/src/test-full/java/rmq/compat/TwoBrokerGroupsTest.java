package rmq.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.MixAll;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.protocol.route.BrokerData;
import org.apache.rocketmq.remoting.protocol.route.QueueData;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;

import rmq.compat.support.Clients;
import rmq.compat.support.Cluster;
import rmq.compat.support.DumpServerLogsOnFailure;
import rmq.compat.support.Received;

/** One cluster with two broker groups (broker-a, broker-b), one master each. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TwoBrokerGroupsTest {
    private static final int QUEUES = 4;
    private Cluster cluster;
    @RegisterExtension
    final DumpServerLogsOnFailure dumpLogs = new DumpServerLogsOnFailure(() -> cluster);
    private Admin admin;

    @BeforeAll
    void start() throws Exception {
        cluster = Cluster.builder("TwoBrokerGroupsTest").broker("broker-a").broker("broker-b").start();
        admin = new Admin(cluster.nameServerAddr());
    }

    @AfterAll
    void stop() {
        if (admin != null) {
            admin.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void topicOnBothBrokersAndProducerSurvivesOneBrokerStopping() throws Exception {
        List<String> masters = admin.masters(cluster.clusterName);
        assertEquals(new TreeSet<>(List.of(cluster.broker("broker-a").addr(), cluster.broker("broker-b").addr())),
            new TreeSet<>(masters), "clusterInfo lists both masters of " + cluster.clusterName);

        String topic = Clients.unique("TwoGroupsTopic");
        admin.createTopic(cluster.clusterName, topic, QUEUES);
        TopicRouteData route = admin.awaitRoute(topic, 2);
        assertEquals(Set.of("broker-a", "broker-b"), Admin.brokerNames(route), "route queue data brokers");
        for (QueueData qd : route.getQueueDatas()) {
            assertEquals(QUEUES, qd.getWriteQueueNums(), "writeQueueNums of " + qd.getBrokerName());
            assertEquals(QUEUES, qd.getReadQueueNums(), "readQueueNums of " + qd.getBrokerName());
            assertEquals(6, qd.getPerm(), "perm of " + qd.getBrokerName());
        }
        Map<String, String> masterByName = new TreeMap<>();
        for (BrokerData bd : route.getBrokerDatas()) {
            masterByName.put(bd.getBrokerName(), bd.getBrokerAddrs().get(MixAll.MASTER_ID));
        }
        assertEquals(Map.of("broker-a", cluster.broker("broker-a").addr(), "broker-b", cluster.broker("broker-b").addr()),
            masterByName, "route broker data (master addresses)");

        DefaultMQProducer p = new DefaultMQProducer(Clients.unique("two_pg"));
        p.setNamesrvAddr(cluster.nameServerAddr());
        p.setInstanceName(Clients.unique("p"));
        p.setPollNameServerInterval(1000);
        p.setSendMsgTimeout(5000);
        p.start();
        List<Message> sent = new ArrayList<>();
        try {
            Collection<MessageQueue> pubQueues = p.fetchPublishMessageQueues(topic);
            assertEquals(Set.of("broker-a", "broker-b"),
                pubQueues.stream().map(MessageQueue::getBrokerName).collect(Collectors.toSet()),
                "publish queues come from both brokers: " + pubQueues);
            assertEquals(2 * QUEUES, pubQueues.size(), "publish queue count");

            Map<String, Integer> perBroker = new TreeMap<>();
            for (int i = 0; i < 40; i++) {
                Message m = Clients.message(topic, 256, "Both");
                SendResult r = p.send(m);
                assertEquals(SendStatus.SEND_OK, r.getSendStatus(), "send with both brokers up");
                perBroker.merge(r.getMessageQueue().getBrokerName(), 1, Integer::sum);
                sent.add(m);
            }
            assertEquals(Set.of("broker-a", "broker-b"), perBroker.keySet(),
                "messages spread over both brokers: " + perBroker);

            // broker-b goes away: every send still succeeds (retry on the other broker group)
            Cluster.Broker b = cluster.broker("broker-b");
            b.stop();
            Map<String, Integer> after = new TreeMap<>();
            for (int i = 0; i < 40; i++) {
                Message m = Clients.message(topic, 256, "OnlyA");
                SendResult r = p.send(m);
                assertEquals(SendStatus.SEND_OK, r.getSendStatus(), "send #" + i + " with broker-b stopped");
                after.merge(r.getMessageQueue().getBrokerName(), 1, Integer::sum);
                sent.add(m);
            }
            assertEquals(Map.of("broker-a", 40), after, "with broker-b down all messages go to broker-a");

            // broker-b comes back with its data; a consumer reads everything from both brokers
            b.start();
            admin.awaitRoute(topic, 2);
            Received received = new Received();
            DefaultMQPushConsumer c = Clients.pushConsumer(cluster.nameServerAddr(), Clients.unique("two_cg"), topic,
                received);
            c.start();
            try {
                received.assertExactly(sent, Duration.ofSeconds(60), 1000, "consumer over both broker groups");
                assertTrue(received.all().stream().anyMatch(m -> "broker-b".equals(m.getBrokerName())),
                    "some messages consumed from broker-b");
            } finally {
                c.shutdown();
            }
        } finally {
            p.shutdown();
        }
    }
}
