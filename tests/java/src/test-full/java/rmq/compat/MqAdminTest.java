package rmq.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.remoting.protocol.body.SubscriptionGroupWrapper;
import org.apache.rocketmq.remoting.protocol.subscription.SubscriptionGroupConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;

import rmq.compat.support.Clients;
import rmq.compat.support.Cluster;
import rmq.compat.support.DumpServerLogsOnFailure;
import rmq.compat.support.Received;
import rmq.compat.support.Wait;

/** The official mqadmin (rocketmq-tools 5.3.3, separate JVM) against the cluster; assertions on its output. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MqAdminTest {
    private Cluster cluster;
    @RegisterExtension
    final DumpServerLogsOnFailure dumpLogs = new DumpServerLogsOnFailure(() -> cluster);
    private Admin admin;
    private MqAdmin mqadmin;
    private String brokerAddr;

    @BeforeAll
    void start() throws Exception {
        cluster = Cluster.builder("MqAdminTest").start();
        admin = new Admin(cluster.nameServerAddr());
        mqadmin = new MqAdmin(cluster.nameServerAddr(), cluster.dir.resolve("mqadmin"));
        brokerAddr = cluster.broker().addr();
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

    private MqAdmin.Result ok(String command, String... args) throws Exception {
        MqAdmin.Result r = mqadmin.run(command, args);
        assertEquals(0, r.exitCode, "exit code of " + r);
        assertFalse(r.output.contains("command failed"), "mqadmin reported a failure: " + r);
        return r;
    }

    private static void assertContains(MqAdmin.Result r, String needle, String what) {
        assertTrue(r.output.contains(needle), what + ": expected output to contain '" + needle + "' but was " + r);
    }

    private static void assertMatches(MqAdmin.Result r, String regex, String what) {
        assertTrue(Pattern.compile(regex, Pattern.MULTILINE).matcher(r.output).find(),
            what + ": expected output to match /" + regex + "/ but was " + r);
    }

    private static boolean hasLine(String output, String line) {
        return Arrays.stream(output.split("\\R")).anyMatch(l -> l.trim().equals(line));
    }

    private DefaultMQProducer producer(String group) throws Exception {
        return Clients.producer(cluster.nameServerAddr(), group);
    }

    // -------------------------------------------------------------------------------------------------------

    @Test
    void updateTopicListRouteStatusDelete() throws Exception {
        String topic = Clients.unique("AdminTopic");
        MqAdmin.Result r = ok("updateTopic", "-c", cluster.clusterName, "-t", topic, "-r", "4", "-w", "4");
        assertContains(r, "create topic to " + brokerAddr + " success", "updateTopic -c");

        Wait.require(Duration.ofSeconds(60), 0, () -> {
            try {
                return hasLine(mqadmin.run("topicList").output, topic);
            } catch (Exception e) {
                return false;
            }
        }, () -> "topicList should list " + topic);

        MqAdmin.Result route = ok("topicRoute", "-t", topic);
        assertContains(route, "\"brokerName\":\"broker-a\"", "topicRoute JSON");
        assertContains(route, brokerAddr, "topicRoute JSON broker address");
        assertMatches(route, "\"writeQueueNums\"\\s*:\\s*4", "topicRoute writeQueueNums");
        assertMatches(route, "\"perm\"\\s*:\\s*6", "topicRoute perm");

        DefaultMQProducer p = producer(Clients.unique("admin_pg"));
        try {
            for (int i = 0; i < 8; i++) {
                Message m = Clients.message(topic, 128, "T");
                assertEquals(SendStatus.SEND_OK, p.send(m).getSendStatus());
            }
        } finally {
            p.shutdown();
        }
        MqAdmin.Result status = ok("topicStatus", "-t", topic);
        // #Broker Name  #QID  #Min Offset  #Max Offset  #Last Updated
        Matcher m = Pattern.compile("^broker-a\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)", Pattern.MULTILINE).matcher(status.output);
        long sumMax = 0;
        int rows = 0;
        while (m.find()) {
            rows++;
            assertEquals(0L, Long.parseLong(m.group(2)), "min offset of queue " + m.group(1));
            sumMax += Long.parseLong(m.group(3));
        }
        assertEquals(4, rows, "topicStatus rows (one per queue): " + status);
        assertEquals(8L, sumMax, "sum of max offsets = messages sent: " + status);

        MqAdmin.Result del = ok("deleteTopic", "-c", cluster.clusterName, "-t", topic);
        assertContains(del, "delete topic [" + topic + "] from cluster [" + cluster.clusterName + "] success",
            "deleteTopic");
        assertContains(del, "delete topic [" + topic + "] from NameServer success", "deleteTopic");
        MqAdmin.Result after = ok("topicList");
        assertFalse(hasLine(after.output, topic), "topicList must not list deleted topic " + topic + ": " + after);
        MqAdmin.Result goneRoute = mqadmin.run("topicRoute", "-t", topic);
        assertFalse(goneRoute.output.contains("\"brokerName\":\"broker-a\""),
            "topicRoute of a deleted topic must not return a route: " + goneRoute);
    }

    @Test
    void clusterListAndBrokerStatus() throws Exception {
        MqAdmin.Result cl = ok("clusterList");
        assertMatches(cl, "^" + Pattern.quote(cluster.clusterName) + "\\s+broker-a\\s+0\\s+" + Pattern.quote(brokerAddr),
            "clusterList row: cluster, broker name, id 0, address");

        MqAdmin.Result bs = ok("brokerStatus", "-b", brokerAddr);
        for (String key : List.of("brokerVersionDesc", "msgPutTotalTodayNow", "msgGetTotalTodayNow", "putTps",
            "commitLogMaxOffset")) {
            assertMatches(bs, "^" + key + "\\s*:", "brokerStatus key " + key);
        }
    }

    @Test
    void getAndUpdateBrokerConfig() throws Exception {
        MqAdmin.Result get = ok("getBrokerConfig", "-b", brokerAddr);
        assertMatches(get, "^brokerName\\s*=\\s*broker-a\\s*$", "getBrokerConfig brokerName");
        assertMatches(get, "^brokerClusterName\\s*=\\s*" + Pattern.quote(cluster.clusterName) + "\\s*$",
            "getBrokerConfig brokerClusterName");
        assertMatches(get, "^listenPort\\s*=\\s*" + cluster.broker().port + "\\s*$", "getBrokerConfig listenPort");
        assertMatches(get, "^autoCreateTopicEnable\\s*=\\s*true\\s*$", "getBrokerConfig autoCreateTopicEnable");

        MqAdmin.Result upd = ok("updateBrokerConfig", "-b", brokerAddr, "-k", "fileReservedTime", "-v", "96");
        assertContains(upd, "update broker config success, " + brokerAddr, "updateBrokerConfig");
        MqAdmin.Result get2 = ok("getBrokerConfig", "-b", brokerAddr);
        assertMatches(get2, "^fileReservedTime\\s*=\\s*96\\s*$", "getBrokerConfig after updateBrokerConfig");
    }

    @Test
    void wipeAndAddWritePerm() throws Exception {
        String topic = Clients.unique("PermTopic");
        admin.createTopic(cluster.clusterName, topic, 2);
        assertMatches(ok("topicRoute", "-t", topic), "\"perm\"\\s*:\\s*6", "perm before wipeWritePerm");

        MqAdmin.Result wipe = ok("wipeWritePerm", "-b", "broker-a");
        assertMatches(wipe, "wipe write perm of broker\\[broker-a\\] in name server\\[[^\\]]+\\] OK",
            "wipeWritePerm");
        assertMatches(ok("topicRoute", "-t", topic), "\"perm\"\\s*:\\s*4", "perm after wipeWritePerm (read only)");

        MqAdmin.Result add = ok("addWritePerm", "-b", "broker-a");
        assertMatches(add, "add write perm of broker\\[broker-a\\] in name server\\[[^\\]]+\\] OK", "addWritePerm");
        assertMatches(ok("topicRoute", "-t", topic), "\"perm\"\\s*:\\s*6", "perm after addWritePerm");
    }

    @Test
    void consumerConnectionProducerConnectionAndConsumerProgress() throws Exception {
        String topic = Clients.unique("ConnTopic");
        admin.createTopic(cluster.clusterName, topic, 4);
        String producerGroup = Clients.unique("conn_pg");
        String group = Clients.unique("conn_cg");
        DefaultMQProducer p = producer(producerGroup);
        Received received = new Received();
        DefaultMQPushConsumer c = Clients.pushConsumer(cluster.nameServerAddr(), group, topic, received);
        try {
            List<Message> msgs = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                Message m = Clients.message(topic, 128, "Conn");
                assertEquals(SendStatus.SEND_OK, p.send(m).getSendStatus());
                msgs.add(m);
            }
            c.start();
            received.assertExactly(msgs, Duration.ofSeconds(60), 500, "consumer " + group);

            MqAdmin.Result cc = ok("consumerConnection", "-g", group);
            assertContains(cc, c.buildMQClientId(), "consumerConnection lists the running consumer's clientId");
            assertContains(cc, "MessageModel: CLUSTERING", "consumerConnection message model");
            assertContains(cc, "ConsumeType: CONSUME_PASSIVELY", "consumerConnection consume type (push)");
            assertMatches(cc, "^" + Pattern.quote(topic) + "\\s+\\*", "consumerConnection subscription");

            MqAdmin.Result pc = ok("producerConnection", "-g", producerGroup, "-t", topic);
            assertContains(pc, p.buildMQClientId(), "producerConnection lists the producer's clientId");

            long[] consumed = new long[1];
            MqAdmin.Result[] last = new MqAdmin.Result[1];
            Pattern row = Pattern.compile("^" + Pattern.quote(topic) + "\\s+broker-a\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)",
                Pattern.MULTILINE);
            Wait.require(Duration.ofSeconds(60), 500, () -> {
                try {
                    last[0] = mqadmin.run("consumerProgress", "-g", group);
                } catch (Exception e) {
                    return false;
                }
                Matcher m = row.matcher(last[0].output);
                long brokerSum = 0;
                long consumerSum = 0;
                int rows = 0;
                while (m.find()) {
                    rows++;
                    brokerSum += Long.parseLong(m.group(2));
                    consumerSum += Long.parseLong(m.group(3));
                }
                consumed[0] = consumerSum;
                return rows == 4 && brokerSum == 20 && consumerSum == 20;
            }, () -> "consumerProgress of " + group + " should show 4 queues with broker and consumer offsets "
                + "summing to 20; last output: " + last[0]);
            assertMatches(last[0], "Consume Diff Total: 0", "consumerProgress diff total");
        } finally {
            c.shutdown();
            p.shutdown();
        }
    }

    @Test
    void queryMessageByIdAndByOffset() throws Exception {
        String topic = Clients.unique("QueryTopic");
        admin.createTopic(cluster.clusterName, topic, 2);
        DefaultMQProducer p = producer(Clients.unique("query_pg"));
        String key = "qkey-" + UUID.randomUUID();
        String body = "hello-mqadmin-" + UUID.randomUUID();
        Message msg = new Message(topic, "QueryTag", key, body.getBytes(StandardCharsets.UTF_8));
        SendResult sr;
        try {
            // a few others around it
            for (int i = 0; i < 3; i++) {
                p.send(Clients.message(topic, 64, "Other"));
            }
            sr = p.send(msg);
            assertEquals(SendStatus.SEND_OK, sr.getSendStatus());
        } finally {
            p.shutdown();
        }

        // offset msgId: decoded by the tool to broker address + commit log offset (VIEW_MESSAGE_BY_ID)
        MqAdmin.Result byOffsetId = ok("queryMsgById", "-t", topic, "-i", sr.getOffsetMsgId(), "-f", "UTF-8");
        assertQueried(byOffsetId, topic, key, body, "queryMsgById <offsetMsgId>");

        // unique (client) msgId: not decodable as an address -> QUERY_MESSAGE by unique key via the index
        Wait.require(Duration.ofSeconds(30), 500, () -> {
            try {
                return mqadmin.run("queryMsgById", "-t", topic, "-i", sr.getMsgId(), "-f", "UTF-8").output
                    .contains(key);
            } catch (Exception e) {
                return false;
            }
        }, () -> "queryMsgById <uniqueMsgId " + sr.getMsgId() + "> should find the message");
        MqAdmin.Result byUniq = ok("queryMsgById", "-t", topic, "-i", sr.getMsgId(), "-f", "UTF-8");
        assertQueried(byUniq, topic, key, body, "queryMsgById <uniqueMsgId>");

        MqAdmin.Result byOffset = ok("queryMsgByOffset", "-t", topic, "-b", "broker-a", "-i",
            String.valueOf(sr.getMessageQueue().getQueueId()), "-o", String.valueOf(sr.getQueueOffset()), "-f", "UTF-8");
        assertQueried(byOffset, topic, key, body, "queryMsgByOffset");
        assertMatches(byOffset, "^Queue Offset:\\s+" + sr.getQueueOffset() + "\\s*$", "queryMsgByOffset queue offset");
    }

    private static void assertQueried(MqAdmin.Result r, String topic, String key, String body, String what) {
        assertMatches(r, "^Topic:\\s+" + Pattern.quote(topic) + "\\s*$", what + " topic");
        assertMatches(r, "^Tags:\\s+\\[QueryTag\\]\\s*$", what + " tags");
        assertMatches(r, "^Keys:\\s+\\[" + Pattern.quote(key) + "\\]\\s*$", what + " keys");
        assertMatches(r, "^Message Body:\\s+" + Pattern.quote(body) + "\\s*$", what + " body");
    }

    @Test
    void resetOffsetByTimeMakesAnOnlineConsumerReadAgain() throws Exception {
        String topic = Clients.unique("ResetTopic");
        admin.createTopic(cluster.clusterName, topic, 4);
        String group = Clients.unique("reset_cg");
        DefaultMQProducer p = producer(Clients.unique("reset_pg"));
        Received received = new Received();
        DefaultMQPushConsumer c = Clients.pushConsumer(cluster.nameServerAddr(), group, topic, received);
        try {
            List<Message> msgs = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                Message m = Clients.message(topic, 64, "Reset");
                assertEquals(SendStatus.SEND_OK, p.send(m).getSendStatus());
                msgs.add(m);
            }
            c.start();
            received.assertExactly(msgs, Duration.ofSeconds(60), 500, "consumer " + group + " before the reset");
            // let the consumer commit its offsets, then rewind the group to the beginning
            Wait.sleep(6000);
            int before = received.count();
            ok("resetOffsetByTime", "-g", group, "-t", topic, "-s", "0");
            Wait.require(Duration.ofSeconds(60), 500, () -> received.count() >= before + msgs.size(),
                () -> "after resetOffsetByTime the consumer should read all " + msgs.size()
                    + " messages again; total deliveries " + received.count());
        } finally {
            c.shutdown();
            p.shutdown();
        }
    }

    @Test
    void updateSubGroupAndDeleteSubGroup() throws Exception {
        String group = Clients.unique("managed_cg");
        ok("updateSubGroup", "-b", brokerAddr, "-g", group, "-r", "3", "-q", "2", "-s", "false", "-d", "false",
            "-o", "true");
        SubscriptionGroupConfig cfg = admin.ext.examineSubscriptionGroupConfig(brokerAddr, group);
        assertEquals(group, cfg.getGroupName());
        assertEquals(3, cfg.getRetryMaxTimes(), "retryMaxTimes");
        assertEquals(2, cfg.getRetryQueueNums(), "retryQueueNums");
        assertFalse(cfg.isConsumeEnable(), "consumeEnable");
        assertFalse(cfg.isConsumeBroadcastEnable(), "consumeBroadcastEnable");
        assertTrue(cfg.isConsumeMessageOrderly(), "consumeMessageOrderly");

        // Updating keeps the group and changes only what was given.
        ok("updateSubGroup", "-b", brokerAddr, "-g", group, "-r", "5", "-s", "true");
        cfg = admin.ext.examineSubscriptionGroupConfig(brokerAddr, group);
        assertEquals(5, cfg.getRetryMaxTimes(), "retryMaxTimes after update");
        assertTrue(cfg.isConsumeEnable(), "consumeEnable after update");

        ok("deleteSubGroup", "-b", brokerAddr, "-g", group);
        SubscriptionGroupWrapper all = admin.ext.getAllSubscriptionGroup(brokerAddr, 10_000);
        assertFalse(all.getSubscriptionGroupTable().containsKey(group), "the group is gone after deleteSubGroup");
    }
}
