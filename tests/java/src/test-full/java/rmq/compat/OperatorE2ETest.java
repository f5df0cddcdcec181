package rmq.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.remoting.protocol.body.ClusterInfo;
import org.apache.rocketmq.remoting.protocol.route.BrokerData;
import org.junit.jupiter.api.Test;

/**
 * End to end through Kubernetes: the cluster was made by the operator from
 * {@code deploy/examples/cluster.yaml}, its pods run as local processes under the test kubelet
 * ({@code tests/k8s-e2e.sh} sets {@code rmq.e2e.namesrv} and {@code rmq.e2e.killMaster}). The
 * official client produces and consumes through it while the master "pod" is killed; the operator
 * promotes the slave, the client keeps going, and every acknowledged message is consumed.
 * Skipped in the ordinary suite (the properties are empty).
 */
class OperatorE2ETest {
    private static final String CLUSTER = "demo";
    private static final String TOPIC = "E2ETopic";

    /**
     * A client given no NameServer address, only {@code rocketmq.namesrv.domain} (a NameServer
     * pod's HTTP address endpoint), fetches the list the operator keeps and sends through it.
     */
    @Test
    void aClientWithOnlyTheAddressServerDomainFindsTheNameServers() throws Exception {
        String namesrv = System.getProperty("rmq.e2e.namesrv", "");
        String domain = System.getProperty("rmq.e2e.nsdomain", "");
        assumeTrue(!namesrv.isEmpty() && !domain.isEmpty(), "only under tests/k8s-e2e.sh");
        String topic = "E2EAddressTopic";
        createTopicEverywhere(namesrv, topic);
        System.setProperty("rocketmq.namesrv.domain", domain);
        DefaultMQProducer producer = new DefaultMQProducer("e2e-nsaddr-" + System.nanoTime());
        assertEquals(null, producer.getNamesrvAddr(), "no NameServer address configured");
        try {
            producer.start();
            SendResult sent = producer.send(new Message(topic, "via the address server".getBytes()));
            assertEquals(SendStatus.SEND_OK, sent.getSendStatus());
            System.out.println("address server " + domain + ": sent " + sent.getMsgId());
        } finally {
            producer.shutdown();
            System.clearProperty("rocketmq.namesrv.domain");
        }
    }

    private static void createTopicEverywhere(String namesrv, String topic) throws Exception {
        try (Admin admin = new Admin(namesrv)) {
            // On the master and its slave, so the promoted slave serves the topic at once.
            ClusterInfo ci = admin.ext.examineBrokerClusterInfo();
            for (String name : ci.getClusterAddrTable().get(CLUSTER)) {
                BrokerData bd = ci.getBrokerAddrTable().get(name);
                for (String addr : bd.getBrokerAddrs().values()) {
                    admin.ext.createAndUpdateTopicConfig(addr, new TopicConfig(topic, 4, 4, 6));
                }
            }
            admin.awaitRoute(topic, 1);
        }
    }

    @Test
    void killingTheMasterPodFailsOverWhileTheClientKeepsGoingAndLosesNothing() throws Exception {
        String namesrv = System.getProperty("rmq.e2e.namesrv", "");
        String kill = System.getProperty("rmq.e2e.killMaster", "");
        assumeTrue(!namesrv.isEmpty() && !kill.isEmpty(), "only under tests/k8s-e2e.sh");
        createTopicEverywhere(namesrv, TOPIC);
        try (FailoverTest.Load load = new FailoverTest.Load(namesrv, TOPIC, 1000)) {
            load.awaitAcked(300);
            long killedAt = System.nanoTime();
            Process p = new ProcessBuilder("sh", "-c", kill).inheritIO().start();
            p.waitFor(30, TimeUnit.SECONDS);
            assertEquals(0, p.exitValue(), "the kill command: " + kill);
            int before = load.acked.size();
            load.awaitAcked(before + 300, Duration.ofSeconds(120));
            long resumedMs = (System.nanoTime() - killedAt) / 1_000_000;
            load.stopProducing();
            load.report("kill -9 the master pod's broker (operator failover)", resumedMs, killedAt);
            load.awaitAllConsumed(Duration.ofSeconds(120));
        }
    }
}
