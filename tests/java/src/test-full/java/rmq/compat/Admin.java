package rmq.compat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.apache.rocketmq.common.MixAll;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.remoting.protocol.body.ClusterInfo;
import org.apache.rocketmq.remoting.protocol.route.BrokerData;
import org.apache.rocketmq.remoting.protocol.route.QueueData;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;

import rmq.compat.support.Clients;
import rmq.compat.support.Wait;

/** Thin wrapper over the official admin API (rocketmq-tools 5.3.3). */
final class Admin implements AutoCloseable {
    final DefaultMQAdminExt ext;

    Admin(String namesrvAddr) throws Exception {
        ext = new DefaultMQAdminExt(15_000);
        ext.setNamesrvAddr(namesrvAddr);
        ext.setInstanceName(Clients.unique("admin"));
        ext.setAdminExtGroup(Clients.unique("admin_group"));
        ext.start();
    }

    /** Master addresses of all brokers of {@code clusterName}, from GET_BROKER_CLUSTER_INFO. */
    List<String> masters(String clusterName) throws Exception {
        ClusterInfo ci = ext.examineBrokerClusterInfo();
        Set<String> names = ci.getClusterAddrTable().get(clusterName);
        if (names == null) {
            throw new AssertionError("cluster " + clusterName + " not in clusterAddrTable " + ci.getClusterAddrTable());
        }
        List<String> addrs = new ArrayList<>();
        for (String n : new TreeSet<>(names)) {
            BrokerData bd = ci.getBrokerAddrTable().get(n);
            String a = bd == null ? null : bd.getBrokerAddrs().get(MixAll.MASTER_ID);
            if (a != null) {
                addrs.add(a);
            }
        }
        return addrs;
    }

    /**
     * Creates {@code topic} with {@code queues} read/write queues on every master of the cluster (what
     * {@code mqadmin updateTopic -c} does) and waits until the NameServer route shows all of them.
     */
    void createTopic(String clusterName, String topic, int queues) throws Exception {
        List<String> masters = masters(clusterName);
        for (String addr : masters) {
            ext.createAndUpdateTopicConfig(addr, new TopicConfig(topic, queues, queues, 6));
        }
        awaitRoute(topic, masters.size());
    }

    /** Waits until the route of {@code topic} has queue data from {@code brokers} brokers. */
    TopicRouteData awaitRoute(String topic, int brokers) {
        TopicRouteData[] last = new TopicRouteData[1];
        Wait.require(Duration.ofSeconds(20), 200, () -> {
            try {
                last[0] = ext.examineTopicRouteInfo(topic);
            } catch (Exception e) {
                return false;
            }
            return last[0].getQueueDatas().stream().map(QueueData::getBrokerName).distinct().count() >= brokers;
        }, () -> "route of " + topic + " should list " + brokers + " broker(s), last seen: "
            + (last[0] == null ? "none" : last[0].getQueueDatas()));
        return last[0];
    }

    static Set<String> brokerNames(TopicRouteData r) {
        return r.getQueueDatas().stream().map(QueueData::getBrokerName).collect(Collectors.toCollection(TreeSet::new));
    }

    @Override
    public void close() {
        ext.shutdown();
    }
}
