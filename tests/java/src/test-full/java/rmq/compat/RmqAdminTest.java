package rmq.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.text.SimpleDateFormat;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import com.alibaba.fastjson2.JSONArray;
import com.alibaba.fastjson2.JSONObject;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;

import rmq.compat.support.Clients;
import rmq.compat.support.Cluster;
import rmq.compat.support.DumpServerLogsOnFailure;
import rmq.compat.support.Ports;
import rmq.compat.support.Received;
import rmq.compat.support.Wait;

/**
 * Our {@code rmqadmin} (Rust) against the official {@code mqadmin} on the same cluster: for each command both tools
 * have, the facts they report (parsed from rmqadmin's JSON and mqadmin's text) must agree. Runs against rmq and
 * against Apache RocketMQ 5.3.3 ({@code -Drmq.impl=apache}).
 */
@Tag("rust-client")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RmqAdminTest {
    private Cluster cluster;
    @RegisterExtension
    final DumpServerLogsOnFailure dumpLogs = new DumpServerLogsOnFailure(() -> cluster);
    private Admin admin;
    private MqAdmin mqadmin;
    private RmqAdmin rmqadmin;
    private String brokerAddr;
    private DefaultMQProducer producer;

    @BeforeAll
    void start() throws Exception {
        RmqAdmin.binary(); // fail fast when the binary is missing
        cluster = Cluster.builder("RmqAdminTest").start();
        admin = new Admin(cluster.nameServerAddr());
        mqadmin = new MqAdmin(cluster.nameServerAddr(), cluster.dir.resolve("mqadmin"));
        rmqadmin = new RmqAdmin(cluster.nameServerAddr(), cluster.dir.resolve("rmqadmin"));
        brokerAddr = cluster.broker().addr();
        producer = Clients.producer(cluster.nameServerAddr(), Clients.unique("rmqadmin_pg"));
    }

    @AfterAll
    void stop() {
        if (producer != null) {
            producer.shutdown();
        }
        if (admin != null) {
            admin.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    private MqAdmin.Result mq(String command, String... args) throws Exception {
        MqAdmin.Result r = mqadmin.run(command, args);
        assertEquals(0, r.exitCode, "exit code of " + r);
        assertFalse(r.output.contains("command failed"), "mqadmin reported a failure: " + r);
        return r;
    }

    private static List<String[]> rows(String output, String regex) {
        Matcher m = Pattern.compile(regex, Pattern.MULTILINE).matcher(output);
        List<String[]> rows = new ArrayList<>();
        while (m.find()) {
            String[] groups = new String[m.groupCount()];
            for (int i = 0; i < groups.length; i++) {
                groups[i] = m.group(i + 1);
            }
            rows.add(groups);
        }
        return rows;
    }

    private List<SendResult> send(String topic, int n, String tag) throws Exception {
        List<SendResult> results = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            SendResult r = producer.send(Clients.message(topic, 64, tag));
            assertEquals(SendStatus.SEND_OK, r.getSendStatus());
            results.add(r);
        }
        return results;
    }

    // -------------------------------------------------------------------------------------------------------

    @Test
    void clusterListShowsTheSameBrokers() throws Exception {
        JSONArray brokers = rmqadmin.ok("cluster", "list").array();
        Set<String> ours = new TreeSet<>();
        for (int i = 0; i < brokers.size(); i++) {
            JSONObject b = brokers.getJSONObject(i);
            ours.add(b.getString("cluster") + " " + b.getString("brokerName") + " " + b.getLongValue("brokerId") + " "
                + b.getString("addr") + " " + b.getString("version"));
        }
        // #Cluster Name  #Broker Name  #BID  #Addr  #Version ...
        Set<String> theirs = rows(mq("clusterList").output, "^(\\S+)\\s+(\\S+)\\s+(\\d+)\\s+(\\S+:\\d+)\\s+(\\S+)").stream()
            .map(r -> String.join(" ", r)).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(theirs, ours, "cluster, broker, id, address and version");
        assertTrue(ours.contains(cluster.clusterName + " broker-a 0 " + brokerAddr + " V5_3_3"), ours.toString());
    }

    @Test
    void brokerStatusAndConfigAgree() throws Exception {
        JSONObject config = rmqadmin.ok("broker", "config", "-b", brokerAddr).object();
        Map<String, String> theirs = new TreeMap<>();
        for (String[] r : rows(mq("getBrokerConfig", "-b", brokerAddr).output, "^(\\w+)\\s*=\\s*(.*?)\\s*$")) {
            theirs.put(r[0], r[1]);
        }
        for (String key : List.of("brokerName", "brokerClusterName", "listenPort", "brokerId")) {
            assertEquals(theirs.get(key), config.getString(key), "broker config " + key);
        }
        assertEquals("broker-a", config.getString("brokerName"));

        JSONObject status = rmqadmin.ok("broker", "status", "-b", brokerAddr).object();
        String version = rows(mq("brokerStatus", "-b", brokerAddr).output, "^brokerVersionDesc\\s*:\\s*(\\S+)").get(0)[0];
        assertEquals(version, status.getString("brokerVersionDesc"), "brokerVersionDesc");
        assertTrue(status.containsKey("commitLogMaxOffset"), "runtime info keys: " + status.keySet());
    }

    @Test
    void topicLifecycleAgreesWithMqadmin() throws Exception {
        String topic = Clients.unique("RustAdminTopic");
        JSONObject created = rmqadmin.ok("topic", "create", "-c", cluster.clusterName, "-t", topic, "-q", "4").object();
        assertEquals(List.of(brokerAddr), created.getJSONArray("brokers").toJavaList(String.class));
        admin.awaitRoute(topic, 1);
        MqAdmin.Result route = mq("topicRoute", "-t", topic);
        assertTrue(Pattern.compile("\"writeQueueNums\"\\s*:\\s*4").matcher(route.output).find(), route.toString());

        // topic list: the same set from both tools (retried: a registration may land in between)
        String[] lastSets = new String[2];
        Wait.require(Duration.ofSeconds(30), 500, () -> {
            try {
                Set<String> ours = new TreeSet<>(rmqadmin.ok("topic", "list").array().toJavaList(String.class));
                Set<String> theirs = Arrays.stream(mq("topicList").output.split("\\R")).map(String::trim)
                    .filter(l -> !l.isEmpty()).collect(Collectors.toCollection(TreeSet::new));
                lastSets[0] = ours.toString();
                lastSets[1] = theirs.toString();
                return ours.contains(topic) && ours.equals(theirs);
            } catch (Exception e) {
                return false;
            }
        }, () -> "topic lists differ: rmqadmin " + lastSets[0] + " vs mqadmin " + lastSets[1]);

        // topic status: same queues and offsets
        send(topic, 10, "Status");
        JSONArray status = rmqadmin.ok("topic", "status", "-t", topic).array();
        Set<String> ours = new TreeSet<>();
        long sumMax = 0;
        for (int i = 0; i < status.size(); i++) {
            JSONObject q = status.getJSONObject(i);
            ours.add(q.getString("brokerName") + " " + q.getIntValue("queueId") + " " + q.getLongValue("minOffset") + " "
                + q.getLongValue("maxOffset"));
            sumMax += q.getLongValue("maxOffset");
            assertEquals(q.getLongValue("maxOffset") > 0, q.getLongValue("lastUpdateTimestamp") > 0, q.toString());
        }
        Set<String> theirs = rows(mq("topicStatus", "-t", topic).output, "^(broker-\\S+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)")
            .stream().map(r -> String.join(" ", r)).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(theirs, ours, "topic status: broker, queue, min and max offset");
        assertEquals(4, ours.size());
        assertEquals(10, sumMax);

        // update keeps what is not given
        JSONObject updated = rmqadmin.ok("topic", "update", "-c", cluster.clusterName, "-t", topic, "-p", "4").object();
        assertEquals(4, updated.getIntValue("readQueues"));
        assertEquals(4, updated.getIntValue("perm"));
        Wait.require(Duration.ofSeconds(20), 500, () -> {
            try {
                return Pattern.compile("\"perm\"\\s*:\\s*4").matcher(mq("topicRoute", "-t", topic).output).find();
            } catch (Exception e) {
                return false;
            }
        }, () -> "mqadmin topicRoute should show perm 4 after rmqadmin topic update");

        // delete
        JSONObject deleted = rmqadmin.ok("topic", "delete", "-c", cluster.clusterName, "-t", topic).object();
        assertEquals(List.of(brokerAddr), deleted.getJSONArray("brokers").toJavaList(String.class));
        MqAdmin.Result after = mq("topicList");
        assertFalse(Arrays.stream(after.output.split("\\R")).anyMatch(l -> l.trim().equals(topic)),
            "mqadmin topicList must not list the deleted topic " + topic);
        RmqAdmin.Result gone = rmqadmin.json("topic", "route", "-t", topic);
        assertEquals(3, gone.exitCode, "route of a deleted topic: " + gone);
    }

    @Test
    void consumerProgressAndConnectionsAgree() throws Exception {
        String topic = Clients.unique("RustAdminConsume");
        admin.createTopic(cluster.clusterName, topic, 4);
        String group = Clients.unique("rust_admin_cg");
        List<Message> msgs = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            Message m = Clients.message(topic, 64, "Progress");
            assertEquals(SendStatus.SEND_OK, producer.send(m).getSendStatus());
            msgs.add(m);
        }
        Received received = new Received();
        DefaultMQPushConsumer c = Clients.pushConsumer(cluster.nameServerAddr(), group, topic, received);
        try {
            c.start();
            received.assertExactly(msgs, Duration.ofSeconds(60), 500, "consumer " + group);

            JSONObject conns = rmqadmin.ok("consumer", "connections", "-g", group).object();
            List<String> ids = conns.getJSONArray("connections").stream()
                .map(o -> ((JSONObject) o).getString("clientId")).collect(Collectors.toList());
            assertEquals(List.of(c.buildMQClientId()), ids, "connected client ids");
            assertEquals("CLUSTERING", conns.getString("messageModel"));
            assertEquals("CONSUME_PASSIVELY", conns.getString("consumeType"));
            MqAdmin.Result cc = mq("consumerConnection", "-g", group);
            assertTrue(cc.output.contains(c.buildMQClientId()), cc.toString());
            Set<String> subs = conns.getJSONArray("subscriptions").stream()
                .map(o -> ((JSONObject) o).getString("topic") + " " + ((JSONObject) o).getString("expression"))
                .collect(Collectors.toCollection(TreeSet::new));
            Set<String> theirSubs = rows(cc.output, "^(\\S+)\\s+(\\S+)\\s*$").stream()
                .filter(r -> !r[0].startsWith("#") && !r[0].endsWith(":")).map(r -> r[0] + " " + r[1])
                .collect(Collectors.toCollection(TreeSet::new));
            assertEquals(theirSubs, subs, "subscriptions");

            // everything consumed and committed
            Wait.require(Duration.ofSeconds(30), 500, () -> {
                try {
                    return rmqadmin.ok("consumer", "progress", "-g", group).object().getLongValue("diffTotal") == 0;
                } catch (Exception e) {
                    return false;
                }
            }, () -> "consumer progress of " + group + " should reach diff 0");
        } finally {
            c.shutdown();
        }
        send(topic, 5, "Backlog");

        JSONObject progress = rmqadmin.ok("consumer", "progress", "-g", group).object();
        Set<String> ours = new TreeSet<>();
        JSONArray queues = progress.getJSONArray("queues");
        for (int i = 0; i < queues.size(); i++) {
            JSONObject q = queues.getJSONObject(i);
            ours.add(q.getString("topic") + " " + q.getString("brokerName") + " " + q.getIntValue("queueId") + " "
                + q.getLongValue("brokerOffset") + " " + q.getLongValue("consumerOffset") + " " + q.getLongValue("diff"));
        }
        MqAdmin.Result theirs = mq("consumerProgress", "-g", group);
        // #Topic  #Broker Name  #QID  #Broker Offset  #Consumer Offset  #Diff ...
        Set<String> theirRows = rows(theirs.output,
            "^(\\S+)\\s+(broker-\\S+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(-?\\d+)").stream()
            .map(r -> String.join(" ", r)).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(theirRows, ours, "per-queue broker offset, consumer offset and diff");
        long theirTotal = Long.parseLong(rows(theirs.output, "^Consume Diff Total:\\s*(-?\\d+)").get(0)[0]);
        assertEquals(theirTotal, progress.getLongValue("diffTotal"), "diff total");
        assertEquals(5, progress.getLongValue("diffTotal"), "the 5 messages sent after the consumer stopped");

        RmqAdmin.Result offline = rmqadmin.json("consumer", "connections", "-g", group);
        assertEquals(3, offline.exitCode, "connections of an offline group: " + offline);
    }

    @Test
    void messageQueriesFindWhatMqadminFinds() throws Exception {
        String topic = Clients.unique("RustAdminQuery");
        admin.createTopic(cluster.clusterName, topic, 2);
        String key = "rk-" + UUID.randomUUID();
        send(topic, 3, "Other");
        List<SendResult> keyed = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Message m = new Message(topic, "KeyTag", key, ("keyed-" + i).getBytes(StandardCharsets.UTF_8));
            SendResult r = producer.send(m);
            assertEquals(SendStatus.SEND_OK, r.getSendStatus());
            keyed.add(r);
        }
        Set<String> sentIds = keyed.stream().map(SendResult::getMsgId).collect(Collectors.toCollection(TreeSet::new));

        // by key: the index is built asynchronously, so wait until mqadmin finds all three
        MqAdmin.Result[] last = new MqAdmin.Result[1];
        Wait.require(Duration.ofSeconds(30), 500, () -> {
            try {
                last[0] = mqadmin.run("queryMsgByKey", "-t", topic, "-k", key);
            } catch (Exception e) {
                return false;
            }
            return rows(last[0].output, "^([0-9A-F]{32,56})\\s+\\d+\\s+\\d+\\s*$").size() == 3;
        }, () -> "mqadmin queryMsgByKey should find 3 messages: " + last[0]);
        Set<String> theirs = rows(last[0].output, "^([0-9A-F]{32,56})\\s+\\d+\\s+\\d+\\s*$").stream().map(r -> r[0])
            .collect(Collectors.toCollection(TreeSet::new));
        JSONArray found = rmqadmin.ok("message", "query", "-t", topic, "-k", key).array();
        Set<String> ours = found.stream().map(o -> ((JSONObject) o).getString("msgId"))
            .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(theirs, ours, "message ids found by key");
        assertEquals(sentIds, ours);

        SendResult sr = keyed.get(1);
        for (String id : List.of(sr.getOffsetMsgId(), sr.getMsgId())) {
            JSONObject m = rmqadmin.ok("message", "query", "-t", topic, "-i", id).object();
            MqAdmin.Result their = mq("queryMsgById", "-t", topic, "-i", id, "-f", "UTF-8");
            assertEquals(field(their, "OffsetID"), m.getString("offsetMsgId"), "offset id via " + id);
            assertEquals(field(their, "Queue ID"), String.valueOf(m.getIntValue("queueId")), "queue via " + id);
            assertEquals(field(their, "Queue Offset"), String.valueOf(m.getLongValue("queueOffset")), "offset via " + id);
            assertEquals(field(their, "CommitLog Offset"), String.valueOf(m.getLongValue("commitLogOffset")));
            assertEquals("keyed-1", m.getString("body"));
            assertEquals("KeyTag", m.getString("tags"));
            assertEquals(List.of(key), m.getJSONArray("keys").toJavaList(String.class));
            assertEquals(sr.getMsgId(), m.getString("msgId"));
        }

        JSONObject byOffset = rmqadmin.ok("message", "query", "-t", topic, "-o", String.valueOf(sr.getQueueOffset()),
            "-b", sr.getMessageQueue().getBrokerName(), "-q", String.valueOf(sr.getMessageQueue().getQueueId())).object();
        MqAdmin.Result theirByOffset = mq("queryMsgByOffset", "-t", topic, "-b", sr.getMessageQueue().getBrokerName(),
            "-i", String.valueOf(sr.getMessageQueue().getQueueId()), "-o", String.valueOf(sr.getQueueOffset()));
        assertEquals(field(theirByOffset, "OffsetID"), byOffset.getString("offsetMsgId"), "queryMsgByOffset");
        assertEquals(sr.getMsgId(), byOffset.getString("msgId"));

        RmqAdmin.Result unknown = rmqadmin.json("message", "query", "-t", topic, "-k", "no-such-key-" + UUID.randomUUID());
        assertEquals(3, unknown.exitCode, "unknown key: " + unknown);
        RmqAdmin.Result past = rmqadmin.json("message", "query", "-t", topic, "-o", "1000000",
            "-b", sr.getMessageQueue().getBrokerName(), "-q", "0");
        assertEquals(3, past.exitCode, "offset past the end: " + past);
    }

    /** The value of a {@code Name:   value} line of mqadmin's message print-out. */
    private static String field(MqAdmin.Result r, String name) {
        List<String[]> found = rows(r.output, "^" + Pattern.quote(name) + ":\\s+(.*?)\\s*$");
        assertFalse(found.isEmpty(), "no '" + name + ":' line in " + r);
        return found.get(0)[0];
    }

    @Test
    void sendAndConsumeWithRmqadmin() throws Exception {
        String topic = Clients.unique("RustAdminSend");
        admin.createTopic(cluster.clusterName, topic, 2);
        String body = "sent-by-rmqadmin-" + UUID.randomUUID();
        JSONObject sent = rmqadmin.ok("message", "send", "-t", topic, "--body", body, "--tags", "CliTag",
            "--keys", "cli-key-1", "--keys", "cli-key-2", "-p", "color=blue").object();
        assertEquals("SEND_OK", sent.getString("status"));

        MqAdmin.Result their = mq("queryMsgById", "-t", topic, "-i", sent.getString("offsetMsgId"), "-f", "UTF-8");
        assertEquals("[CliTag]", field(their, "Tags"));
        assertEquals("[cli-key-1 cli-key-2]", field(their, "Keys"));
        assertEquals(body, field(their, "Message Body"));
        assertTrue(their.output.contains("color=blue"), "user property in " + their);

        JSONArray consumed = rmqadmin.ok("message", "consume", "-t", topic, "-b", sent.getString("brokerName"), "-q",
            String.valueOf(sent.getIntValue("queueId")), "-o", String.valueOf(sent.getLongValue("queueOffset")), "-c", "1")
            .array();
        assertEquals(1, consumed.size(), consumed.toString());
        JSONObject m = consumed.getJSONObject(0);
        assertEquals(sent.getString("msgId"), m.getString("msgId"));
        assertEquals(body, m.getString("body"));
        assertEquals("CliTag", m.getString("tags"));
        assertEquals("blue", m.getJSONObject("properties").getString("color"));

        send(topic, 6, "More");
        JSONArray all = rmqadmin.ok("message", "consume", "-t", topic, "-c", "100").array();
        assertEquals(7, all.size(), "every message of the topic");
        JSONArray three = rmqadmin.ok("message", "consume", "-t", topic, "-c", "3").array();
        assertEquals(3, three.size(), "--count caps the output");
    }

    @Test
    void resetOffsetByTimeMakesAnOnlineConsumerReplay() throws Exception {
        String topic = Clients.unique("RustAdminReset");
        admin.createTopic(cluster.clusterName, topic, 4);
        String group = Clients.unique("rust_reset_cg");
        String before = new SimpleDateFormat("yyyy-MM-dd#HH:mm:ss:SSS").format(new Date(System.currentTimeMillis() - 60_000));
        List<Message> msgs = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            Message m = Clients.message(topic, 64, "Reset");
            assertEquals(SendStatus.SEND_OK, producer.send(m).getSendStatus());
            msgs.add(m);
        }
        Received received = new Received();
        DefaultMQPushConsumer c = Clients.pushConsumer(cluster.nameServerAddr(), group, topic, received);
        try {
            c.start();
            received.assertExactly(msgs, Duration.ofSeconds(60), 500, "consumer " + group + " before the reset");
            Wait.require(Duration.ofSeconds(30), 500, () -> {
                try {
                    return rmqadmin.ok("consumer", "progress", "-g", group, "-t", topic).object()
                        .getLongValue("diffTotal") == 0;
                } catch (Exception e) {
                    return false;
                }
            }, () -> "offsets of " + group + " should be committed");
            int delivered = received.count();
            JSONObject reset = rmqadmin.ok("offset", "reset-by-time", "-g", group, "-t", topic, "-s", before).object();
            assertTrue(reset.getBooleanValue("appliedByBroker"), "the brokers apply it: " + reset);
            JSONArray queues = reset.getJSONArray("queues");
            assertEquals(4, queues.size(), reset.toString());
            for (int i = 0; i < queues.size(); i++) {
                assertEquals(0L, queues.getJSONObject(i).getLongValue("offset"), "reset to the first message");
            }
            Wait.require(Duration.ofSeconds(60), 500, () -> received.count() >= delivered + msgs.size(),
                () -> "after rmqadmin offset reset-by-time the consumer should read all " + msgs.size()
                    + " messages again; total deliveries " + received.count());
        } finally {
            c.shutdown();
        }
    }

    @Test
    void exitCodes() throws Exception {
        int deadPort = Ports.allocate();
        RmqAdmin.Result unreachable = rmqadmin.exec(List.of("topic", "list", "-n", "127.0.0.1:" + deadPort,
            "--timeout", "2000"));
        assertEquals(4, unreachable.exitCode, "unreachable NameServer: " + unreachable);
        assertTrue(unreachable.millis < 2000 + 3000, "gave up within the timeout: " + unreachable);
        assertTrue(unreachable.stderr.startsWith("rmqadmin: "), "one clear line on stderr: " + unreachable);
        assertEquals(1, unreachable.stderr.strip().lines().count(), "one line: " + unreachable.stderr);
        assertEquals("", unreachable.stdout);

        RmqAdmin.Result noRoute = rmqadmin.json("topic", "route", "-t", Clients.unique("NoSuchTopic"));
        assertEquals(3, noRoute.exitCode, "unknown topic: " + noRoute);
        assertTrue(noRoute.stderr.startsWith("rmqadmin: "), noRoute.toString());
        RmqAdmin.Result noStatus = rmqadmin.json("topic", "status", "-t", Clients.unique("NoSuchTopic"));
        assertEquals(3, noStatus.exitCode, "unknown topic status: " + noStatus);
        RmqAdmin.Result noGroup = rmqadmin.json("consumer", "progress", "-g", Clients.unique("no_such_group"));
        assertEquals(3, noGroup.exitCode, "unknown group: " + noGroup);

        RmqAdmin.Result usage = rmqadmin.json("topic", "route");
        assertEquals(2, usage.exitCode, "missing --topic: " + usage);
        RmqAdmin.Result noNamesrv = rmqadmin.exec(List.of("topic", "list"));
        assertEquals(2, noNamesrv.exitCode, "no NameServer address: " + noNamesrv);
    }
}
