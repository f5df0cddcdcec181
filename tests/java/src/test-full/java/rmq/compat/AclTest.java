package rmq.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.client.consumer.DefaultMQPullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQBrokerException;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageQueue;
import org.apache.rocketmq.remoting.RPCHook;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;
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
 * ACL 1.0 ({@code aclEnable=true}, a {@code plain_acl.yml}) with the official client's {@code AclClientRPCHook}:
 * signed clients with the right permissions produce and consume; a wrong secret, an unknown account, a missing
 * permission, a DENY, an admin request from a normal account and a request from outside an account's whitelist
 * are refused with NO_PERMISSION (16), as Apache 5.3.3 refuses them; the file is reloaded when it changes.
 * rmq only: Apache 5.3.3 reads this file once into its ACL 2.0 store (no reload, no whitelists).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AclTest {
    private static final int NO_PERMISSION = 16;
    private static final String TOPIC = "AclOrders";
    private static final String DENIED_TOPIC = "AclPayroll";

    private Cluster cluster;
    private Path aclFile;
    @RegisterExtension
    final DumpServerLogsOnFailure dumpLogs = new DumpServerLogsOnFailure(() -> cluster);

    private static String accounts(String extra) {
        return ""
            + "accounts:\n"
            + "  - accessKey: producer1\n"
            + "    secretKey: producer-secret\n"
            + "    defaultTopicPerm: DENY\n"
            + "    defaultGroupPerm: DENY\n"
            + "    topicPerms: [" + TOPIC + "=PUB]\n"
            + "  - accessKey: consumer1\n"
            + "    secretKey: consumer-secret\n"
            + "    defaultTopicPerm: SUB\n"
            + "    defaultGroupPerm: SUB\n"
            + "    topicPerms: [" + DENIED_TOPIC + "=DENY]\n"
            + "  - accessKey: trusted1\n"
            + "    secretKey: trusted-secret\n"
            + "    whiteRemoteAddress: 127.0.0.*\n"
            + "  - accessKey: outsider\n"
            + "    secretKey: outsider-secret\n"
            + "    whiteRemoteAddress: 10.99.0.*\n"
            + "    defaultTopicPerm: PUB\n"
            + "  - accessKey: admin0001\n"
            + "    secretKey: admin-secret\n"
            + "    admin: true\n"
            + extra;
    }

    @BeforeAll
    void start() throws Exception {
        assumeFalse(Cluster.isApache(), "rmq's ACL 1.0; Apache 5.3.3 migrates plain_acl.yml into ACL 2.0 once");
        aclFile = Files.createTempFile("plain_acl", ".yml");
        Files.writeString(aclFile, accounts(""), StandardCharsets.UTF_8);
        cluster = Cluster.builder("AclTest")
            .brokerProperty("aclEnable", "true")
            .brokerProperty("aclFile", aclFile.toString())
            .brokerProperty("aclReloadIntervalMillis", "200")
            .start();
    }

    @AfterAll
    void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
        if (aclFile != null) {
            Files.deleteIfExists(aclFile);
        }
    }

    private static RPCHook hook(String accessKey, String secretKey) {
        return new AclClientRPCHook(new SessionCredentials(accessKey, secretKey));
    }

    private DefaultMQProducer producer(String accessKey, String secretKey) throws Exception {
        DefaultMQProducer p = accessKey == null ? new DefaultMQProducer(Clients.unique("acl_pg"))
            : new DefaultMQProducer(Clients.unique("acl_pg"), hook(accessKey, secretKey));
        p.setNamesrvAddr(cluster.nameServerAddr());
        p.setInstanceName(Clients.unique("acl_p"));
        p.setRetryTimesWhenSendFailed(0);
        p.start();
        return p;
    }

    private void createTopicAsAdmin(String topic) throws Exception {
        DefaultMQAdminExt admin = new DefaultMQAdminExt(hook("admin0001", "admin-secret"));
        admin.setNamesrvAddr(cluster.nameServerAddr());
        admin.setInstanceName(Clients.unique("acl_admin"));
        admin.start();
        try {
            admin.createTopic(cluster.clusterName, topic, 4, null);
            Wait.require(Duration.ofSeconds(20), 100, () -> {
                try {
                    return !admin.examineTopicRouteInfo(topic).getQueueDatas().isEmpty();
                } catch (Exception e) {
                    return false;
                }
            }, () -> "topic " + topic + " not routed");
        } finally {
            admin.shutdown();
        }
    }

    /**
     * The broker's refusal inside whatever the client threw (an MQBrokerException, or for admin calls an
     * MQClientException carrying the response): its code must be 16; returns its remark.
     */
    private static String refusal(Throwable thrown) {
        for (Throwable t = thrown; t != null; t = t.getCause()) {
            if (t instanceof MQBrokerException) {
                MQBrokerException e = (MQBrokerException) t;
                assertEquals(NO_PERMISSION, e.getResponseCode(), "response code of " + e);
                return e.getErrorMessage();
            }
        }
        for (Throwable t = thrown; t != null; t = t.getCause()) {
            if (t instanceof MQClientException && ((MQClientException) t).getResponseCode() == NO_PERMISSION) {
                return ((MQClientException) t).getErrorMessage();
            }
        }
        throw new AssertionError("no NO_PERMISSION refusal in " + thrown, thrown);
    }

    private static void assertRefused(Throwable thrown, String remarkPart) {
        String remark = refusal(thrown);
        assertTrue(remark != null && remark.contains(remarkPart),
            "remark '" + remark + "' should contain '" + remarkPart + "'");
    }

    @Test
    void signedClientsWithTheirPermissionsProduceAndConsume() throws Exception {
        createTopicAsAdmin(TOPIC);
        DefaultMQProducer producer = producer("producer1", "producer-secret");
        List<String> received = new CopyOnWriteArrayList<>();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(Clients.unique("acl_cg"), hook("consumer1", "consumer-secret"));
        consumer.setNamesrvAddr(cluster.nameServerAddr());
        consumer.setInstanceName(Clients.unique("acl_c"));
        consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        consumer.subscribe(TOPIC, "*");
        consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            msgs.forEach(m -> received.add(new String(m.getBody(), StandardCharsets.UTF_8)));
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        try {
            for (int i = 0; i < 20; i++) {
                assertEquals(SendStatus.SEND_OK, producer.send(new Message(TOPIC, ("acl-" + i).getBytes())).getSendStatus());
            }
            consumer.start();
            Wait.require(Duration.ofSeconds(60), 100, () -> received.size() >= 20,
                () -> "consumed " + received.size() + " of 20");
            for (int i = 0; i < 20; i++) {
                assertTrue(received.contains("acl-" + i), "acl-" + i + " not consumed");
            }
        } finally {
            consumer.shutdown();
            producer.shutdown();
        }
    }

    @Test
    void wrongSecretUnknownAccountAndUnsignedSendsAreRefused() throws Exception {
        createTopicAsAdmin(TOPIC);
        DefaultMQProducer wrong = producer("producer1", "not-the-secret");
        DefaultMQProducer unknown = producer("nobody00", "whatever-secret");
        DefaultMQProducer unsigned = producer(null, null);
        try {
            assertRefused(assertThrows(Exception.class, () -> wrong.send(new Message(TOPIC, "x".getBytes()))),
                "check signature failed for User:producer1");
            assertRefused(assertThrows(Exception.class, () -> unknown.send(new Message(TOPIC, "x".getBytes()))),
                "User:nobody00 is not found");
            assertRefused(assertThrows(Exception.class, () -> unsigned.send(new Message(TOPIC, "x".getBytes()))),
                "AccessKey is missing");
        } finally {
            wrong.shutdown();
            unknown.shutdown();
            unsigned.shutdown();
        }
    }

    @Test
    void aMissingPermissionAndADenyAreRefused() throws Exception {
        createTopicAsAdmin(TOPIC);
        createTopicAsAdmin(DENIED_TOPIC);
        DefaultMQProducer producer = producer("producer1", "producer-secret");
        DefaultMQProducer consumerAccount = producer("consumer1", "consumer-secret");
        DefaultMQPullConsumer puller = new DefaultMQPullConsumer(Clients.unique("acl_pull"), hook("consumer1", "consumer-secret"));
        puller.setNamesrvAddr(cluster.nameServerAddr());
        puller.setInstanceName(Clients.unique("acl_pc"));
        puller.start();
        try {
            // producer1 holds PUB on TOPIC only; its default is DENY.
            assertRefused(assertThrows(Exception.class, () -> producer.send(new Message(DENIED_TOPIC, "x".getBytes()))),
                "User:producer1 has no permission to PUB Topic:" + DENIED_TOPIC);
            // consumer1 holds SUB by default: no PUB.
            assertRefused(assertThrows(Exception.class, () -> consumerAccount.send(new Message(TOPIC, "x".getBytes()))),
                "User:consumer1 has no permission to PUB Topic:" + TOPIC);
            // consumer1 may pull TOPIC, but DENIED_TOPIC is DENY.
            MessageQueue allowed = puller.fetchSubscribeMessageQueues(TOPIC).iterator().next();
            puller.pull(allowed, "*", 0, 1);
            MessageQueue denied = puller.fetchSubscribeMessageQueues(DENIED_TOPIC).iterator().next();
            assertRefused(assertThrows(Exception.class, () -> puller.pull(denied, "*", 0, 1)),
                "has no permission to SUB Topic:" + DENIED_TOPIC + " from 127.0.0.1: its permission there is DENY");
        } finally {
            puller.shutdown();
            consumerAccount.shutdown();
            producer.shutdown();
        }
    }

    @Test
    void adminRequestsNeedAnAdminAccount() throws Exception {
        DefaultMQAdminExt notAdmin = new DefaultMQAdminExt(hook("consumer1", "consumer-secret"));
        notAdmin.setNamesrvAddr(cluster.nameServerAddr());
        notAdmin.setInstanceName(Clients.unique("acl_na"));
        notAdmin.start();
        try {
            Throwable thrown = assertThrows(Exception.class,
                () -> notAdmin.createAndUpdateTopicConfig(cluster.broker().addr(),
                    new org.apache.rocketmq.common.TopicConfig(Clients.unique("AclNew"), 4, 4, 6)));
            assertRefused(thrown, "needs an admin account");
        } finally {
            notAdmin.shutdown();
        }
        createTopicAsAdmin(Clients.unique("AclByAdmin"));
    }

    @Test
    void anAccountsWhitelistLetsItInUnsignedOnlyFromThoseAddresses() throws Exception {
        createTopicAsAdmin(TOPIC);
        DefaultMQProducer trusted = producer("trusted1", "a-wrong-secret");
        DefaultMQProducer outsider = producer("outsider", "a-wrong-secret");
        try {
            assertEquals(SendStatus.SEND_OK, trusted.send(new Message(TOPIC, "x".getBytes())).getSendStatus());
            assertRefused(assertThrows(Exception.class, () -> outsider.send(new Message(TOPIC, "x".getBytes()))),
                "check signature failed for User:outsider");
        } finally {
            trusted.shutdown();
            outsider.shutdown();
        }
    }

    @Test
    void aChangedFileTakesEffectWithoutARestart() throws Exception {
        createTopicAsAdmin(TOPIC);
        DefaultMQProducer latecomer = producer("latecomer", "latecomer-secret");
        DefaultMQProducer unsigned = producer(null, null);
        try {
            assertRefused(assertThrows(Exception.class, () -> latecomer.send(new Message(TOPIC, "x".getBytes()))),
                "User:latecomer is not found");
            Files.writeString(aclFile, accounts(""
                + "  - accessKey: latecomer\n"
                + "    secretKey: latecomer-secret\n"
                + "    defaultTopicPerm: PUB\n"), StandardCharsets.UTF_8);
            Wait.require(Duration.ofSeconds(20), 200, () -> sends(latecomer), () -> "new account not accepted");

            Files.writeString(aclFile, "globalWhiteRemoteAddresses: ['127.0.0.1']\n" + accounts(""), StandardCharsets.UTF_8);
            Wait.require(Duration.ofSeconds(20), 200, () -> sends(unsigned), () -> "global whitelist not applied");
            Wait.require(Duration.ofSeconds(20), 200, () -> sends(latecomer), () -> "whitelisted address refused");

            Files.writeString(aclFile, accounts(""), StandardCharsets.UTF_8);
            Wait.require(Duration.ofSeconds(20), 200, () -> !sends(unsigned), () -> "whitelist not removed");
            assertRefused(assertThrows(Exception.class, () -> latecomer.send(new Message(TOPIC, "x".getBytes()))),
                "User:latecomer is not found");
        } finally {
            Files.writeString(aclFile, accounts(""), StandardCharsets.UTF_8);
            latecomer.shutdown();
            unsigned.shutdown();
        }
    }

    private static boolean sends(DefaultMQProducer producer) {
        try {
            return producer.send(new Message(TOPIC, "probe".getBytes())).getSendStatus() == SendStatus.SEND_OK;
        } catch (Exception e) {
            return false;
        }
    }
}
