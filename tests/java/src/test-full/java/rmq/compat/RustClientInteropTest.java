package rmq.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import com.alibaba.fastjson.JSON;
import com.alibaba.fastjson.JSONObject;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import rmq.compat.support.Clients;
import rmq.compat.support.Cluster;
import rmq.compat.support.Wait;

/**
 * The Rust client (its examples, run as processes) and the official Java client exchange messages both ways,
 * including 8 KiB bodies that each side compresses: Java produces and Rust consumes, then Rust produces and Java
 * consumes; a Java {@code request()} gets its reply from a Rust replier; a send and a consumption traced by the Rust
 * client show in mqadmin {@code queryMsgTraceById}. Runs against
 * our servers and, with -Drmq.impl=apache, against Apache RocketMQ 5.3.3.
 */
@Tag("rust-client")
class RustClientInteropTest extends OneBrokerTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @Override
    protected Cluster.Builder configure(Cluster.Builder builder) {
        return builder.brokerProperty("traceTopicEnable", "true");
    }

    private static String example(String name) {
        Path bin = Paths.get(System.getProperty("rmq.bin.dir", "../../target/debug")).resolve("examples").resolve(name)
            .toAbsolutePath();
        if (!Files.isExecutable(bin)) {
            throw new IllegalStateException("Rust example not built: " + bin + " (run `cargo build -p rmq-client --examples`)");
        }
        return bin.toString();
    }

    /** Runs a Rust example to completion and returns its stdout lines parsed as JSON. */
    private static List<JSONObject> runExample(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<JSONObject> lines = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                lines.add(JSON.parseObject(line));
            }
        }
        if (!p.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("Rust example did not finish: " + Arrays.toString(cmd));
        }
        assertEquals(0, p.exitValue(), "exit code of " + Arrays.toString(cmd));
        return lines;
    }

    private static String bigBody(int i) {
        StringBuilder sb = new StringBuilder();
        while (sb.length() < 8192) {
            sb.append("java-").append(i).append('-');
        }
        return sb.toString();
    }

    @Test
    void javaProducesAndRustConsumesWithCompressedBodies() throws Exception {
        String topic = Clients.unique("JavaToRust");
        Map<String, Integer> sentIds = new ConcurrentHashMap<>();
        for (int i = 0; i < 10; i++) {
            String body = i % 3 == 0 ? bigBody(i) : "java-" + i;
            Message m = new Message(topic, "TagJ", "jkey-" + i, body.getBytes(StandardCharsets.UTF_8));
            m.putUserProperty("index", String.valueOf(i));
            SendResult r = producer.send(m);
            sentIds.put(r.getMsgId(), i);
        }
        List<JSONObject> got = runExample(example("consumer"), cluster.nameServerAddr(), topic, Clients.unique("rust_cg"),
            "10");
        assertEquals(10, got.size(), "Rust consumer printed " + got);
        for (JSONObject m : got) {
            Integer i = sentIds.get(m.getString("msgId"));
            assertTrue(i != null, "unknown message id " + m.getString("msgId"));
            String expected = i % 3 == 0 ? bigBody(i) : "java-" + i;
            assertEquals(expected, m.getString("body"), "body of " + i);
            assertEquals("TagJ", m.getString("tags"));
            assertEquals(List.of("jkey-" + i), m.getJSONArray("keys").toJavaList(String.class));
            assertEquals(String.valueOf(i), m.getJSONObject("properties").getString("index"));
            assertEquals(topic, m.getString("topic"));
        }
    }

    @Test
    void rustProducesAndJavaConsumesWithCompressedBodies() throws Exception {
        String topic = Clients.unique("RustToJava");
        List<JSONObject> sent = runExample(example("producer"), cluster.nameServerAddr(), topic, "6", "--big");
        assertEquals(6, sent.size(), "Rust producer printed " + sent);
        Map<String, MessageExt> received = new ConcurrentHashMap<>();
        DefaultMQPushConsumer c = consumer(topic, MessageSelector.byTag("TagA"), (MessageListenerConcurrently) (msgs, ctx) -> {
            msgs.forEach(m -> received.put(m.getMsgId(), m));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        try {
            Wait.require(WAIT, 100, () -> received.size() >= 6, () -> "Java consumer got " + received.keySet());
        } finally {
            c.shutdown();
        }
        for (JSONObject s : sent) {
            MessageExt m = received.get(s.getString("msgId"));
            assertTrue(m != null, "Java did not receive " + s);
            int i = s.getIntValue("index");
            String expected = (i + ":").repeat(8192 / 3 + 1);
            assertEquals(expected, new String(m.getBody(), StandardCharsets.UTF_8), "body of " + i);
            assertEquals("TagA", m.getTags());
            assertEquals("key-" + i, m.getKeys());
            assertEquals(String.valueOf(i), m.getUserProperty("index"));
            assertEquals(s.getIntValue("queueId"), m.getQueueId());
            assertEquals(s.getLongValue("queueOffset"), m.getQueueOffset());
        }
    }

    @Test
    void rustTracedSendAndConsumeShowInQueryMsgTraceById() throws Exception {
        String topic = Clients.unique("RustTraced");
        String group = Clients.unique("rust_trace_cg");
        List<JSONObject> sent = runExample(example("producer"), cluster.nameServerAddr(), topic, "1", "--trace");
        assertEquals(1, sent.size(), "Rust producer printed " + sent);
        String msgId = sent.get(0).getString("msgId");
        List<JSONObject> got = runExample(example("consumer"), cluster.nameServerAddr(), topic, group, "1", "--trace");
        assertEquals(msgId, got.get(0).getString("msgId"));
        MqAdmin mqadmin = new MqAdmin(cluster.nameServerAddr(), cluster.dir.resolve("mqadmin-rust-trace"));
        String[] output = new String[1];
        boolean shown = Wait.until(WAIT, 2000, () -> {
            try {
                output[0] = mqadmin.run("queryMsgTraceById", "-i", msgId).output;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            return output[0].contains("Pub") && output[0].contains("Sub ");
        });
        assertTrue(shown, "queryMsgTraceById lists the Rust send and consumption:\n" + output[0]);
        assertTrue(output[0].contains("example_producer"), "the producer group is in the trace:\n" + output[0]);
        assertTrue(output[0].contains(group), "the consumer group is in the trace:\n" + output[0]);
    }

    @Test
    void javaRequestGetsTheReplyOfARustReplier() throws Exception {
        String topic = Clients.unique("JavaAsksRust");
        producer.send(new Message(topic, "warm-up".getBytes(StandardCharsets.UTF_8)));
        Process replier = new ProcessBuilder(example("replier"), cluster.nameServerAddr(), topic,
            Clients.unique("rust_replier_cg"), "1").redirectError(ProcessBuilder.Redirect.INHERIT).start();
        org.apache.rocketmq.client.producer.DefaultMQProducer requester =
            Clients.producer(cluster.nameServerAddr(), Clients.unique("java_requester_pg"));
        try {
            Requests.warmUp(requester, topic);
            Message reply = Requests.request(requester, new Message(topic, "ping".getBytes(StandardCharsets.UTF_8)), 30_000)
                .get(60, TimeUnit.SECONDS);
            assertEquals("re:ping", new String(reply.getBody(), StandardCharsets.UTF_8));
            assertEquals(cluster.clusterName + "_REPLY_TOPIC", reply.getTopic());
            assertTrue(replier.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS), "the Rust replier stops after one reply");
            assertEquals(0, replier.exitValue());
            String line = new String(replier.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            assertEquals(reply.getProperty("CORRELATION_ID"), JSON.parseObject(line).getString("correlationId"));
        } finally {
            requester.shutdown();
            replier.destroyForcibly();
        }
    }
}
