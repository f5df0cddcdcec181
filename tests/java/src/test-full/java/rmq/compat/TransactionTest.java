package rmq.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.Test;

import rmq.compat.support.Clients;
import rmq.compat.support.Cluster;
import rmq.compat.support.Wait;

/** Transactional messages: commit is delivered, rollback never is, unknown is resolved by check-back. */
class TransactionTest extends OneBrokerTest {
    @Override
    protected Cluster.Builder configure(Cluster.Builder builder) {
        return builder.brokerProperty("transactionTimeOut", "1000").brokerProperty("transactionCheckInterval", "1000");
    }

    @Test
    void commitRollbackAndCheckBack() throws Exception {
        String topic = Clients.unique("TxTopic");
        Set<String> checked = ConcurrentHashMap.newKeySet();
        TransactionMQProducer producer = new TransactionMQProducer(Clients.unique("tx_pg"));
        producer.setNamesrvAddr(cluster.nameServerAddr());
        producer.setInstanceName(Clients.unique("tx"));
        producer.setTransactionListener(new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                switch (msg.getKeys()) {
                    case "commit": return LocalTransactionState.COMMIT_MESSAGE;
                    case "rollback": return LocalTransactionState.ROLLBACK_MESSAGE;
                    default: return LocalTransactionState.UNKNOW;
                }
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                checked.add(msg.getKeys());
                // answer as the application's local state would: the rolled-back one stays rolled back
                return "rollback".equals(msg.getKeys())
                    ? LocalTransactionState.ROLLBACK_MESSAGE : LocalTransactionState.COMMIT_MESSAGE;
            }
        });
        producer.start();
        Set<String> received = ConcurrentHashMap.newKeySet();
        DefaultMQPushConsumer consumer = new DefaultMQPushConsumer(Clients.unique("tx_cg"));
        try {
            // create the topic before the consumer subscribes
            producer.send(new Message(topic, "warmup", "warmup", "w".getBytes()));
            consumer.setNamesrvAddr(cluster.nameServerAddr());
            consumer.setInstanceName(Clients.unique("txc"));
            consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
            consumer.subscribe(topic, "*");
            consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                msgs.forEach(m -> received.add(m.getKeys()));
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
            consumer.start();
            for (String key : new String[] {"commit", "rollback", "check"}) {
                SendResult r = producer.sendMessageInTransaction(new Message(topic, "Tx", key, key.getBytes()), null);
                assertEquals(SendStatus.SEND_OK, r.getSendStatus(), "half message for " + key);
            }
            Wait.require(Duration.ofSeconds(90), 200, () -> received.contains("commit") && received.contains("check"),
                () -> "committed and checked-back messages should be consumed; got " + received + ", checked " + checked);
            assertTrue(checked.contains("check"), "the broker checked back the unknown transaction: " + checked);
            Wait.sleep(3000);
            assertTrue(!received.contains("rollback"), "a rolled-back message is never delivered: " + received);
        } finally {
            consumer.shutdown();
            producer.shutdown();
        }
    }
}
