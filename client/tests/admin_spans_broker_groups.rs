//! The admin API over two broker groups, against rmq and (unless `RMQ_TEST_IMPLS` says otherwise)
//! Apache RocketMQ 5.3.3: a topic created on a cluster lands on both masters, status and key
//! queries merge both brokers' answers, an offline group's offsets move back and forward, one
//! broker's backlog is read and its write permission taken away and given back.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{unique, wait_until, Received};
use rmq_client::admin::{Admin, ErrorKind, QueueProgress, TopicSpec, TopicTarget};
use rmq_client::{ConsumeFrom, Message, MessageQueue, Producer, PushConsumer};
use rmq_testkit::{impls, Cluster, Impl};

const WAIT: Duration = Duration::from_secs(60);

fn start(imp: Impl) -> Cluster {
    Cluster::builder("admin_two_groups", imp).broker("broker-a").broker("broker-b").start().expect("cluster starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_merges_both_broker_groups() {
    for imp in impls() {
        let cluster = tokio::task::spawn_blocking(move || start(imp)).await.expect("join");
        let ns = cluster.namesrv_addr();
        println!("== {imp}: {ns}");
        let admin = Admin::builder().name_server(&ns).timeout(Duration::from_secs(5)).build().await.expect("admin");
        scenario(&admin, &ns, cluster.cluster_name()).await;
        println!("== {imp}: passed");
    }
}

async fn scenario(admin: &Admin, ns: &str, cluster_name: &str) {
    // A just-started Apache broker fails GET_BROKER_RUNTIME_INFO until its first stats sample.
    wait_until(WAIT, "runtime info of every broker", || async {
        admin.cluster_list(Some(cluster_name)).await.is_ok_and(|l| l.iter().all(|b| b.error.is_none()))
    })
    .await;
    let brokers = admin.cluster_list(Some(cluster_name)).await.expect("cluster list");
    let names: BTreeSet<_> = brokers.iter().map(|b| b.broker_name.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["broker-a", "broker-b"]), "{brokers:?}");
    assert!(brokers.iter().all(|b| b.version.as_deref() == Some("V5_3_3")), "{brokers:?}");

    let topic = unique("AdminTwoGroups");
    let mut spec = TopicSpec::new(&topic);
    spec.read_queues = 4;
    spec.write_queues = 4;
    let created = admin.create_topic(&spec, &TopicTarget::Cluster(cluster_name.into())).await.expect("create");
    assert_eq!(created.len(), 2, "one master per group: {created:?}");
    topic_config_and_attributes_on_one_broker(admin, &spec, &created[0]).await;
    wait_until(WAIT, "a route over both groups", || async {
        admin.topic_route(&topic).await.is_ok_and(|r| r.queue_datas.len() == 2)
    })
    .await;

    let producer = Producer::builder().name_server(ns).group(unique("admin_pg")).build().await.expect("producer");
    let mut sent = BTreeSet::new();
    for i in 0..16 {
        let msg = Message::new(&topic, format!("body-{i}")).with_keys([format!("own-{i}"), "shared".to_owned()]);
        sent.insert(producer.send(msg).await.expect("send").msg_id);
    }
    producer.shutdown().await;

    // Apache dispatches to its ConsumeQueues in the background: a queue's max offset may lag the
    // SEND_OK for a moment.
    wait_until(WAIT, "16 messages in the queues", || async {
        admin.topic_status(&topic).await.is_ok_and(|s| s.iter().map(|q| q.max_offset).sum::<i64>() == 16)
    })
    .await;
    let status = admin.topic_status(&topic).await.expect("status");
    assert_eq!(status.len(), 8, "4 queues on each of 2 brokers: {status:?}");
    assert_eq!(status.iter().map(|q| q.max_offset).sum::<i64>(), 16);
    let used: BTreeSet<_> = status.iter().filter(|q| q.max_offset > 0).map(|q| q.broker_name.clone()).collect();
    assert_eq!(used.len(), 2, "messages on both brokers: {status:?}");

    // By key: the answers of both brokers, merged (the index is built asynchronously).
    wait_until(WAIT, "16 messages by key", || async {
        admin.query_by_key(&topic, "shared", 64, 0, i64::MAX).await.is_ok_and(|m| m.len() == 16)
    })
    .await;
    let found = admin.query_by_key(&topic, "shared", 64, 0, i64::MAX).await.expect("by key");
    assert_eq!(found.iter().map(|m| m.msg_id.clone()).collect::<BTreeSet<_>>(), sent);
    let on_b = found.iter().find(|m| m.broker_name == "broker-b").expect("a message on broker-b");

    // By id (offset id and unique id) and by offset, on the second group.
    for id in [&on_b.offset_msg_id, &on_b.msg_id] {
        let m = admin.query_by_id(&topic, id).await.expect("by id");
        assert_eq!((m.msg_id.as_str(), m.broker_name.as_str()), (on_b.msg_id.as_str(), "broker-b"), "via {id}");
    }
    let mq = MessageQueue { topic: topic.clone(), broker_name: "broker-b".into(), queue_id: on_b.queue_id };
    let at = admin.query_by_offset(&mq, on_b.queue_offset).await.expect("by offset");
    assert_eq!(at.msg_id, on_b.msg_id);
    let batch = admin.pull(&mq, 0, 32).await.expect("pull");
    let max = status.iter().find(|q| q.broker_name == "broker-b" && q.queue_id == on_b.queue_id).map(|q| q.max_offset);
    assert_eq!(Some(batch.messages.len() as i64), max, "a pull from 0 reads the whole queue");

    // A group that consumed everything and went offline: the reset moves its offsets on both
    // brokers (rmq: rewritten by the client after CONSUMER_NOT_ONLINE; Apache 5.x: server-side).
    let group = unique("admin_offline_cg");
    let received = Received::default();
    let consumer = PushConsumer::builder()
        .name_server(ns)
        .group(&group)
        .subscribe(&topic, "*")
        .consume_from(ConsumeFrom::FirstOffset)
        .start(received.listener())
        .await
        .expect("consumer");
    wait_until(WAIT, "16 messages consumed", || {
        let r = received.clone();
        async move { r.len() >= 16 }
    })
    .await;
    wait_until(WAIT, "offsets committed", || async {
        admin.consumer_progress(&group, Some(&topic)).await.is_ok_and(|p| p.diff_total == 0)
    })
    .await;
    consumer.shutdown().await;
    let reset = admin.reset_offset_by_time(&group, &topic, 0, true).await.expect("reset to the start");
    assert_eq!(reset.queues.len(), 8, "{reset:?}");
    assert!(reset.queues.iter().all(|q| q.offset == 0), "{reset:?}");
    let progress = admin.consumer_progress(&group, Some(&topic)).await.expect("progress");
    assert_eq!(progress.diff_total, 16, "everything left to consume: {progress:?}");
    backlog_and_permission_of_one_broker(admin, cluster_name, &topic, &group, &progress.queues).await;
    admin.reset_offset_by_time(&group, &topic, -1, true).await.expect("reset to the end");
    let progress = admin.consumer_progress(&group, Some(&topic)).await.expect("progress");
    assert_eq!(progress.diff_total, 0, "nothing left: {progress:?}");

    let deleted = admin.delete_topic(&topic, Some(cluster_name)).await.expect("delete");
    assert_eq!(deleted.brokers.len(), 2);
    let gone = admin.topic_route(&topic).await.expect_err("no route after delete");
    assert_eq!(gone.kind(), ErrorKind::NotFound);
}

/// One broker's view of a topic (GET_TOPIC_CONFIG), and topic attributes as Apache 5.x applies
/// them: a known key is stored without its sign, an unknown one refused with Apache's words.
async fn topic_config_and_attributes_on_one_broker(admin: &Admin, spec: &TopicSpec, addr: &str) {
    let held = admin.broker_topic_config(addr, &spec.topic).await.expect("topic config").expect("on the broker");
    assert_eq!((held.read_queue_nums, held.write_queue_nums, held.perm), (4, 4, 6), "{held:?}");
    assert!(admin.broker_topic_config(addr, &unique("Absent")).await.expect("absent topic").is_none());
    let target = TopicTarget::Broker(addr.to_owned());
    let mut typed = spec.clone();
    typed.attributes.insert("message.type".into(), "NORMAL".into());
    admin.create_topic(&typed, &target).await.expect("a known attribute");
    let held = admin.broker_topic_config(addr, &spec.topic).await.expect("topic config").expect("on the broker");
    assert_eq!(held.attributes.get("message.type").map(String::as_str), Some("NORMAL"), "{held:?}");
    let mut bad = spec.clone();
    bad.attributes.insert("colour".into(), "red".into());
    let err = admin.create_topic(&bad, &target).await.expect_err("an unknown attribute");
    assert!(err.to_string().contains("unsupported key: colour"), "{err}");
}

/// What a scale-in relies on: one broker's backlog by group (the group's queues there only), and
/// its write permission taken away and given back through UPDATE_BROKER_CONFIG, which the
/// NameServers' route shows in the queues' perm.
async fn backlog_and_permission_of_one_broker(
    admin: &Admin,
    cluster: &str,
    topic: &str,
    group: &str,
    queues: &[QueueProgress],
) {
    let masters: BTreeMap<String, String> =
        admin.cluster_masters(cluster).await.expect("masters").into_iter().collect();
    let addr = &masters["broker-b"];
    let on_b: i64 = queues.iter().filter(|q| q.broker_name == "broker-b").map(|q| q.diff).sum();
    assert!(on_b > 0, "messages left on broker-b: {queues:?}");
    let backlog = admin.broker_backlog(addr).await.expect("backlog");
    assert_eq!(backlog.get(group), Some(&on_b), "{backlog:?}");

    let perm_of_b = || async {
        let route = admin.topic_route(topic).await.expect("route");
        route.queue_datas.iter().find(|q| q.broker_name == "broker-b").map(|q| q.perm)
    };
    for (permission, perm) in [("4", 4), ("6", 6)] {
        let values = BTreeMap::from([("brokerPermission".to_owned(), permission.to_owned())]);
        admin.update_broker_config(addr, &values).await.expect("update broker config");
        wait_until(WAIT, &format!("broker-b routed with perm {perm}"), || async { perm_of_b().await == Some(perm) })
            .await;
    }
}
