package rmq.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;

import rmq.compat.support.Clients;
import rmq.compat.support.Cluster;
import rmq.compat.support.DumpServerLogsOnFailure;
import rmq.compat.support.Wait;

/**
 * TLS on the remoting port with the official client's {@code setUseTLS(true)}: with
 * {@code tls.server.mode=enforcing} on the broker a TLS client produces and consumes and a plaintext client is
 * refused; the NameServer keeps Apache's default (permissive, a self-signed certificate in test mode), so both
 * kinds of client read routes from it. (Certificate files replaced at run time: remoting/tests/tls.rs.)
 * rmq only: Apache takes its TLS settings from JVM system properties, not broker.conf.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TlsTest {
    private Cluster cluster;
    @RegisterExtension
    final DumpServerLogsOnFailure dumpLogs = new DumpServerLogsOnFailure(() -> cluster);

    @BeforeAll
    void start() {
        assumeFalse(Cluster.isApache(), "Apache reads tls.server.mode from JVM system properties");
        cluster = Cluster.builder("TlsTest").brokerProperty("tls.server.mode", "enforcing").start();
    }

    @AfterAll
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private DefaultMQProducer producer(boolean tls) throws Exception {
        DefaultMQProducer p = new DefaultMQProducer(Clients.unique("tls_pg"));
        p.setNamesrvAddr(cluster.nameServerAddr());
        p.setInstanceName(Clients.unique("tls_p"));
        p.setUseTLS(tls);
        p.setRetryTimesWhenSendFailed(0);
        p.setSendMsgTimeout(5000);
        p.start();
        return p;
    }

    @Test
    void aTlsClientProducesAndConsumes() throws Exception {
        String topic = Clients.unique("TlsTopic");
        DefaultMQProducer producer = producer(true);
        List<String> received = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(Clients.unique("tls_cg"));
        consumer.setNamesrvAddr(cluster.nameServerAddr());
        consumer.setInstanceName(Clients.unique("tls_c"));
        consumer.setUseTLS(true);
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(topic, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            msgs.forEach(m -> received.add(new String(m.getBody(), StandardCharsets.UTF_8)));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        try {
            for (int i = 0; i < 10; i++) {
                assertEquals(SendStatus.SEND_OK, producer.send(new Message(topic, ("tls-" + i).getBytes())).getSendStatus());
            }
            consumer.start();
            Wait.require(Duration.ofSeconds(60), 100, () -> received.size() >= 10,
                () -> "consumed " + received.size() + " of 10 over TLS");
            for (int i = 0; i < 10; i++) {
                assertTrue(received.contains("tls-" + i), "tls-" + i + " not consumed");
            }
        } finally {
            consumer.shutdown();
            producer.shutdown();
        }
    }

    @Test
    void aPlaintextClientIsRefusedWhenTlsIsEnforced() throws Exception {
        String topic = Clients.unique("TlsTopic");
        DefaultMQProducer tls = producer(true);
        DefaultMQProducer plain = producer(false);
        try {
            assertEquals(SendStatus.SEND_OK, tls.send(new Message(topic, "created".getBytes())).getSendStatus());
            assertThrows(Exception.class, () -> plain.send(new Message(topic, "plaintext".getBytes())));
            String log = Files.readString(cluster.broker().logFile(), StandardCharsets.UTF_8);
            assertTrue(log.contains("plaintext connection refused: tls.server.mode=enforcing"),
                "the broker logs why it closed the plaintext connection");
        } finally {
            plain.shutdown();
            tls.shutdown();
        }
    }
}
