//! Unit tests of the route table: registration rules, removal, expiry and topic administration.

use std::time::Duration;

use rmq_remoting::protocol::body::{perm, DataVersion, QueueData, TopicConfig, TopicConfigWrapper};
use tokio::time::Instant;

use super::{BrokerAddr, Registration, RouteTable, UnitFilter};

const TIMEOUT: Duration = Duration::from_secs(10);

fn registration(name: &str, id: i64, addr: &str, counter: i64, topics: &[(&str, i32)]) -> Registration {
    let mut wrapper = TopicConfigWrapper {
        data_version: DataVersion { counter, state_version: 0, timestamp: 1 },
        ..Default::default()
    };
    for (topic, queues) in topics {
        wrapper.topic_config_table.insert((*topic).into(), TopicConfig::new(*topic, *queues, perm::READ_WRITE));
    }
    Registration {
        cluster: "c1".into(),
        broker_name: name.into(),
        broker_addr: addr.into(),
        broker_id: id,
        ha_server_addr: Some(format!("{addr}-ha")),
        timeout: TIMEOUT,
        enable_acting_master: Some(false),
        topics: wrapper,
        conn: None,
    }
}

fn key(addr: &str) -> BrokerAddr {
    BrokerAddr::new("c1", addr)
}

#[test]
fn master_registration_creates_routes_and_cluster() {
    let table = RouteTable::new();
    table.register(registration("a", 0, "m:1", 1, &[("T", 4)]), Instant::now());
    let route = table.topic_route("T").expect("route");
    assert_eq!(route.queue_datas.len(), 1);
    assert_eq!(route.queue_datas[0].write_queue_nums, 4);
    assert_eq!(route.broker_datas[0].broker_addrs.get(&0).map(String::as_str), Some("m:1"));
    let info = table.cluster_info();
    assert!(info.cluster_addr_table["c1"].contains("a"));
    assert!(table.topic_route("missing").is_none());
}

#[test]
fn slave_registration_leaves_queues_alone_but_learns_its_master() {
    let table = RouteTable::new();
    let now = Instant::now();
    table.register(registration("a", 0, "m:1", 1, &[("T", 4)]), now);
    let told = table.register(registration("a", 1, "s:1", 9, &[("T", 8), ("Other", 2)]), now);
    assert_eq!(told.master_addr.as_deref(), Some("m:1"));
    assert_eq!(told.ha_server_addr.as_deref(), Some("m:1-ha"));
    let route = table.topic_route("T").expect("route");
    assert_eq!(route.queue_datas[0].write_queue_nums, 4);
    assert_eq!(route.broker_datas[0].broker_addrs.len(), 2);
    assert!(table.topic_route("Other").is_none());
}

#[test]
fn queues_are_rewritten_only_when_the_data_version_changes() {
    let table = RouteTable::new();
    let now = Instant::now();
    table.register(registration("a", 0, "m:1", 1, &[("T", 4)]), now);
    table.set_write_perm("a", false);
    // Same version: the wiped permission survives a re-registration.
    table.register(registration("a", 0, "m:1", 1, &[("T", 4)]), now);
    assert_eq!(table.topic_route("T").expect("route").queue_datas[0].perm, perm::READ);
    // New version: the broker's own config wins.
    table.register(registration("a", 0, "m:1", 2, &[("T", 8)]), now);
    let q = &table.topic_route("T").expect("route").queue_datas[0];
    assert_eq!((q.perm, q.write_queue_nums), (perm::READ_WRITE, 8));
}

#[test]
fn prime_slave_updates_queues_when_no_master_is_registered() {
    let table = RouteTable::new();
    table.register(registration("a", 2, "s:2", 1, &[("T", 4)]), Instant::now());
    assert!(table.topic_route("T").is_some());
    let mut old = registration("b", 1, "s:3", 1, &[("U", 4)]);
    old.enable_acting_master = None; // a 4.x slave never writes queues
    table.register(old, Instant::now());
    assert!(table.topic_route("U").is_none());
}

#[test]
fn same_address_under_a_new_id_drops_the_old_id() {
    let table = RouteTable::new();
    let now = Instant::now();
    table.register(registration("a", 0, "m:1", 1, &[("T", 4)]), now);
    table.register(registration("a", 1, "m:1", 1, &[("T", 4)]), now);
    let addrs = &table.topic_route("T").expect("route").broker_datas[0].broker_addrs;
    assert_eq!(addrs.keys().copied().collect::<Vec<_>>(), vec![1]);
}

#[test]
fn removing_the_last_address_drops_broker_cluster_and_topics() {
    let table = RouteTable::new();
    let now = Instant::now();
    table.register(registration("a", 0, "m:1", 1, &[("T", 4)]), now);
    table.register(registration("a", 1, "s:1", 1, &[]), now);
    table.register(registration("b", 0, "m:2", 1, &[("T", 4)]), now);
    table.unregister(&key("m:1"), "a");
    // The slave keeps broker "a" (and its queues) in the route, without a master.
    let route = table.topic_route("T").expect("route");
    assert_eq!(route.queue_datas.len(), 2);
    table.unregister(&key("s:1"), "a");
    let route = table.topic_route("T").expect("route");
    assert_eq!(route.queue_datas.len(), 1);
    assert!(!table.cluster_info().broker_addr_table.contains_key("a"));
    table.unregister(&key("m:2"), "b");
    assert!(table.topic_route("T").is_none());
    assert!(table.cluster_info().cluster_addr_table.is_empty());
    assert!(table.all_topics().is_empty());
}

#[test]
fn expiry_removes_only_stale_brokers() {
    let table = RouteTable::new();
    let start = Instant::now();
    table.register(registration("a", 0, "m:1", 1, &[("T", 4)]), start);
    let mut long = registration("b", 0, "m:2", 1, &[("U", 4)]);
    long.timeout = Duration::from_secs(60);
    table.register(long, start);
    assert!(table.expire(start + Duration::from_secs(5)).is_empty());
    table.touch(&key("m:2"), start + Duration::from_secs(5));
    assert_eq!(table.expire(start + Duration::from_secs(11)), vec![key("m:1")]);
    assert!(table.topic_route("T").is_none());
    assert!(table.topic_route("U").is_some());
}

#[test]
fn closed_connection_removes_its_brokers() {
    let table = RouteTable::new();
    let mut reg = registration("a", 0, "m:1", 1, &[("T", 4)]);
    reg.conn = Some(7);
    table.register(reg, Instant::now());
    assert!(table.connection_closed(8).is_empty());
    assert_eq!(table.connection_closed(7), vec![key("m:1")]);
    assert!(!table.is_live(&key("m:1")));
    assert!(table.topic_route("T").is_none());
}

#[test]
fn data_version_query_reports_changes_and_refreshes() {
    let table = RouteTable::new();
    let start = Instant::now();
    let reg = registration("a", 0, "m:1", 3, &[]);
    let version = reg.topics.data_version.clone();
    table.register(reg, start);
    let stale = DataVersion::default();
    assert!(table.query_data_version(&key("m:1"), &stale, start).0);
    assert!(table.query_data_version(&key("x:1"), &version, start).0);
    let later = start + Duration::from_secs(8);
    let (changed, stored) = table.query_data_version(&key("m:1"), &version, later);
    assert!(!changed);
    assert_eq!(stored, Some(version));
    // The query at +8 s refreshed the 10 s lease.
    assert!(table.expire(start + Duration::from_secs(12)).is_empty());
    assert_eq!(table.expire(start + Duration::from_secs(19)), vec![key("m:1")]);
}

#[test]
fn delete_topic_in_one_cluster_keeps_the_others() {
    let table = RouteTable::new();
    let now = Instant::now();
    table.register(registration("a", 0, "m:1", 1, &[("T", 4)]), now);
    let mut other = registration("b", 0, "m:2", 1, &[("T", 4)]);
    other.cluster = "c2".into();
    table.register(other, now);
    assert!(table.delete_topic("T", Some("c1")));
    let route = table.topic_route("T").expect("route");
    assert_eq!(route.queue_datas.len(), 1);
    assert_eq!(route.queue_datas[0].broker_name, "b");
    assert!(!table.delete_topic("T", Some("nope")));
    assert!(table.delete_topic("T", None));
    assert!(table.topic_route("T").is_none());
}

#[test]
fn write_perm_is_wiped_and_restored() {
    let table = RouteTable::new();
    table.register(registration("a", 0, "m:1", 1, &[("T", 4), ("U", 4)]), Instant::now());
    assert_eq!(table.set_write_perm("a", false), 2);
    assert_eq!(table.topic_route("U").expect("route").queue_datas[0].perm, perm::READ);
    assert_eq!(table.set_write_perm("a", true), 2);
    assert_eq!(table.topic_route("U").expect("route").queue_datas[0].perm, perm::READ_WRITE);
    assert_eq!(table.set_write_perm("zzz", true), 0);
}

#[test]
fn registered_topics_need_known_brokers() {
    let table = RouteTable::new();
    table.register(registration("a", 0, "m:1", 1, &[]), Instant::now());
    let q = |b: &str| QueueData {
        broker_name: b.into(),
        read_queue_nums: 2,
        write_queue_nums: 2,
        perm: 6,
        topic_sys_flag: 1,
    };
    assert!(table.register_topic("T", vec![q("a"), q("ghost")]).is_err());
    assert!(table.topic_route("T").is_none());
    table.register_topic("T", vec![q("a")]).expect("registered");
    assert_eq!(table.topic_route("T").expect("route").queue_datas[0].read_queue_nums, 2);
    assert_eq!(table.unit_topics(UnitFilter::Unit), vec!["T".to_owned()]);
    assert!(table.unit_topics(UnitFilter::HasUnitSub).is_empty());
}

#[test]
fn topic_lists_by_cluster_and_system() {
    let table = RouteTable::new();
    table.register(registration("a", 0, "m:1", 1, &[("T", 4)]), Instant::now());
    assert_eq!(table.topics_of_cluster("c1"), vec!["T".to_owned()]);
    assert!(table.topics_of_cluster("c2").is_empty());
    let system = table.system_topics();
    assert_eq!(system.topic_list, vec!["a".to_owned(), "c1".to_owned()]);
    assert_eq!(system.broker_addr.as_deref(), Some("m:1"));
}

#[test]
fn an_old_master_registering_the_shared_service_address_does_not_take_it_over() {
    let table = RouteTable::new();
    let now = Instant::now();
    let mut promoted = registration("a", 0, "svc:1", 1, &[("T", 4)]);
    promoted.topics.data_version.state_version = 2;
    promoted.ha_server_addr = Some("new-ha".into());
    promoted.conn = Some(7);
    table.register(promoted, now);
    let mut old = registration("a", 0, "svc:1", 1, &[("T", 4)]);
    old.topics.data_version.state_version = 1;
    old.ha_server_addr = Some("old-ha".into());
    old.conn = Some(3);
    assert_eq!(table.register(old, now), Default::default());
    assert!(table.connection_closed(3).is_empty(), "the old master's connection closing removes nothing");
    let slave = table.register(registration("a", 1, "s:1", 1, &[]), now);
    assert_eq!(slave.ha_server_addr.as_deref(), Some("new-ha"), "slaves keep following the new master");
}

#[test]
fn stale_state_version_registration_is_ignored() {
    let table = RouteTable::new();
    let now = Instant::now();
    let mut current = registration("a", 0, "m:1", 1, &[("T", 4)]);
    current.topics.data_version.state_version = 5;
    table.register(current, now);
    let mut stale = registration("a", 0, "m:9", 1, &[("T", 4)]);
    stale.topics.data_version.state_version = 4;
    assert_eq!(table.register(stale, now), Default::default());
    assert!(!table.is_live(&key("m:9")));
    let addrs = &table.topic_route("T").expect("route").broker_datas[0].broker_addrs;
    assert_eq!(addrs.get(&0).map(String::as_str), Some("m:1"));
}
