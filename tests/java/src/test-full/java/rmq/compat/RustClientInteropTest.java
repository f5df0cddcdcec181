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
import rmq.compat.support.Wait;

/**
 * The Rust client (its examples, run as processes) and the official Java client exchange messages both ways,
 * including 8 KiB bodies that each side compresses: Java produces and Rust consumes, then Rust produces and Java
 * consumes. Runs against our servers and, with -Drmq.impl=apache, against Apache RocketMQ 5.3.3.
 */
@Tag("rust-client")
class RustClientInteropTest extends OneBrokerTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

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
}
