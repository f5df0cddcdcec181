package rmq.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;

import rmq.compat.support.Clients;
import rmq.compat.support.Cluster;
import rmq.compat.support.DumpServerLogsOnFailure;
import rmq.compat.support.Received;
import rmq.compat.support.Remoting;
import rmq.compat.support.Wait;

/** Two NameServers, one broker registered with both; one NameServer dies. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NameServerFailoverTest {
    private Cluster cluster;
    @RegisterExtension
    final DumpServerLogsOnFailure dumpLogs = new DumpServerLogsOnFailure(() -> cluster);

    @BeforeAll
    void start() {
        cluster = Cluster.builder("NameServerFailoverTest").nameServers(2).start();
    }

    @AfterAll
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static DefaultMQProducer producer(String ns) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer(Clients.unique("nsfail_pg"));
        p.setNamesrvAddr(ns);
        p.setInstanceName(Clients.unique("p"));
        p.setPollNameServerInterval(1000); // refresh routes every second: exercises the dead NameServer a lot
        p.setSendMsgTimeout(10_000);
        p.start();
        return p;
    }

    @Test
    void producerKeepsWorkingWhenOneNameServerIsDown() throws Exception {
        String ns = cluster.nameServerAddr();
        String brokerAddr = cluster.broker().addr();
        for (Cluster.NameServer n : cluster.nameServers()) {
            assertTrue(Remoting.clusterInfo(n.addr()).contains(brokerAddr),
                "broker registered with NameServer " + n.addr());
        }
        String topic = Clients.unique("NsFailTopic");
        DefaultMQProducer p = producer(ns);
        List<Message> sent = new ArrayList<>();
        try {
            for (int i = 0; i < 10; i++) {
                Message m = Clients.message(topic, 256, "Before");
                assertEquals(SendStatus.SEND_OK, p.send(m).getSendStatus(), "send before NameServer failure");
                sent.add(m);
            }

            // crash the first NameServer
            cluster.nameServer(0).forceKill();
            assertFalse(cluster.nameServer(0).isAlive(), "NameServer 0 killed");

            // the running producer keeps sending (routes refreshed every second while doing so)
            for (int i = 0; i < 30; i++) {
                Message m = Clients.message(topic, 256, "After");
                SendResult r = p.send(m);
                assertEquals(SendStatus.SEND_OK, r.getSendStatus(), "send #" + i + " after NameServer 0 died");
                sent.add(m);
                Wait.sleep(100);
            }

            // a brand-new topic needs a route lookup (TBW102) from the surviving NameServer
            String topic2 = Clients.unique("NsFailNewTopic");
            List<Message> sent2 = new ArrayList<>();
            Message first = Clients.message(topic2, 256, "New");
            List<String> errors = new ArrayList<>();
            Wait.require(Duration.ofSeconds(30), 500, () -> {
                try {
                    return p.send(first).getSendStatus() == SendStatus.SEND_OK;
                } catch (Exception e) {
                    errors.add(e.toString());
                    return false;
                }
            }, () -> "first send to new topic " + topic2 + " with NameServer 0 down; errors: " + errors);
            sent2.add(first);
            for (int i = 0; i < 10; i++) {
                Message m = Clients.message(topic2, 256, "New");
                assertEquals(SendStatus.SEND_OK, p.send(m).getSendStatus(), "send to new topic #" + i);
                sent2.add(m);
            }

            // a new producer that knows both addresses also works
            DefaultMQProducer p2 = producer(ns);
            try {
                Message m = Clients.message(topic, 256, "NewProducer");
                List<String> errs = new ArrayList<>();
                Wait.require(Duration.ofSeconds(30), 500, () -> {
                    try {
                        return p2.send(m).getSendStatus() == SendStatus.SEND_OK;
                    } catch (Exception e) {
                        errs.add(e.toString());
                        return false;
                    }
                }, () -> "new producer with NameServer 0 down; errors: " + errs);
                sent.add(m);
            } finally {
                p2.shutdown();
            }

            // and consumers find the route through the surviving NameServer as well
            // (a push consumer's start() fetches the route once and fails if it happens to pick the dead
            // NameServer - client behaviour, identical for every server - so start a fresh one in that case)
            // (a fresh group + sink per attempt: the failed consumer is shut down before it can consume anything)
            Received[] sink = new Received[1];
            List<String> startErrors = new ArrayList<>();
            DefaultMQPushConsumer[] started = new DefaultMQPushConsumer[1];
            Wait.require(Duration.ofSeconds(30), 200, () -> {
                DefaultMQPushConsumer attempt = null;
                Received r = new Received();
                try {
                    attempt = Clients.pushConsumer(ns, Clients.unique("nsfail_cg"), topic, r);
                    attempt.start();
                    started[0] = attempt;
                    sink[0] = r;
                    return true;
                } catch (Exception e) {
                    startErrors.add(e.toString());
                    if (attempt != null) {
                        attempt.shutdown();
                    }
                    return false;
                }
            }, () -> "push consumer start with NameServer 0 down; errors: " + startErrors);
            Received received = sink[0];
            DefaultMQPushConsumer c = started[0];
            try {
                received.assertExactly(sent, Duration.ofSeconds(60), 500, "consumer with NameServer 0 down");
            } finally {
                c.shutdown();
            }
        } finally {
            p.shutdown();
        }
    }
}
