//! Spec → desired objects.

use k8s_openapi::api::core::v1::PodSpec;

use super::*;
use crate::crd::cluster::RocketMQCluster;

fn cluster(extra: &str) -> RocketMQCluster {
    let yaml = format!(
        "apiVersion: rmq.io/v1alpha1\nkind: RocketMQCluster\nmetadata: {{name: demo, namespace: mq, uid: u-1}}\n\
         spec:\n  image: rmq:test\n  broker:\n    groups: 2\n    replicasPerGroup: 3\n    storage: {{size: 20Gi, whenDeleted: Delete}}\n\
         {extra}"
    );
    serde_yaml::from_str(&yaml).expect("a valid cluster")
}

fn pod(set: &k8s_openapi::api::apps::v1::StatefulSet) -> &PodSpec {
    set.spec.as_ref().and_then(|s| s.template.spec.as_ref()).expect("pod spec")
}

#[test]
fn every_child_is_owned_by_the_cluster_and_labelled_as_its_component() {
    let c = cluster("");
    for meta in [
        &namesrv::service(&c).metadata,
        &namesrv::stateful_set(&c).metadata,
        &broker::config_map(&c, 0).metadata,
        &broker::stateful_set(&c, 1).metadata,
        &broker::disruption_budget(&c, 1).metadata,
        &broker::master_service(&c, 1).metadata,
    ] {
        let owner = &meta.owner_references.as_ref().expect("owner")[0];
        assert_eq!((owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()), ("RocketMQCluster", "demo", "u-1"));
        assert_eq!(owner.controller, Some(true));
        assert_eq!(meta.namespace.as_deref(), Some("mq"));
        let labels = meta.labels.as_ref().expect("labels");
        assert_eq!(labels["app.kubernetes.io/instance"], "demo");
        assert_eq!(labels["app.kubernetes.io/managed-by"], "rmq-operator");
    }
}

#[test]
fn a_group_is_one_ordered_statefulset_whose_ordinal_picks_the_pods_broker_conf() {
    let c = cluster("");
    let set = broker::stateful_set(&c, 1);
    let spec = set.spec.as_ref().expect("spec");
    assert_eq!(set.metadata.name.as_deref(), Some("demo-broker-1"));
    assert_eq!(spec.replicas, Some(3));
    assert_eq!(spec.service_name.as_deref(), Some("demo-broker-1"));
    assert_eq!(spec.update_strategy.as_ref().and_then(|u| u.type_.as_deref()), Some("OnDelete"));
    let args = pod(&set).containers[0].args.clone().expect("args");
    assert_eq!(
        args,
        ["-c", "/etc/rmq/broker.conf", "-c", "/etc/rmq/pod-$(POD_INDEX).conf", "--set", "brokerIP1=$(POD_IP)"]
    );
    let claim = &spec.volume_claim_templates.as_ref().expect("claims")[0];
    let size =
        &claim.spec.as_ref().and_then(|s| s.resources.as_ref()).and_then(|r| r.requests.as_ref()).expect("requests")
            ["storage"];
    assert_eq!(size.0, "20Gi");
    let retention = spec.persistent_volume_claim_retention_policy.as_ref().expect("retention");
    assert_eq!((retention.when_scaled.as_deref(), retention.when_deleted.as_deref()), (Some("Retain"), Some("Delete")));
    let anti = pod(&set).affinity.as_ref().and_then(|a| a.pod_anti_affinity.as_ref()).expect("anti-affinity");
    let term = &anti.required_during_scheduling_ignored_during_execution.as_ref().expect("required")[0];
    assert_eq!(term.topology_key, "kubernetes.io/hostname");
}

#[test]
fn broker_conf_names_the_group_and_every_name_server_and_each_pod_its_id_role_and_peers() {
    let c = cluster("    replication: {mode: SYNC, inSyncReplicas: 2}\n    config: {deleteWhen: \"04\"}\n");
    let files = broker_conf::config_files(&c, 1);
    assert_eq!(files.keys().collect::<Vec<_>>(), ["broker.conf", "pod-0.conf", "pod-1.conf", "pod-2.conf"]);
    let shared = &files["broker.conf"];
    for line in [
        "brokerClusterName=demo",
        "brokerName=demo-broker-1",
        "namesrvAddr=demo-namesrv-0.demo-namesrv.mq.svc:9876;demo-namesrv-1.demo-namesrv.mq.svc:9876",
        "inSyncReplicas=2",
        "fencingLease=4000",
        "deleteWhen=04",
    ] {
        assert!(shared.lines().any(|l| l == line), "{line} missing from\n{shared}");
    }
    assert!(files["pod-0.conf"].contains("brokerId=0\nbrokerRole=SYNC_MASTER\n"));
    assert!(files["pod-2.conf"].contains("brokerId=2\nbrokerRole=SLAVE\n"));
    let peers = "groupPeers=demo-broker-1-0.demo-broker-1.mq.svc:10920,demo-broker-1-1.demo-broker-1.mq.svc:10920";
    assert!(files["pod-2.conf"].lines().any(|l| l == peers), "{}", files["pod-2.conf"]);
}

#[test]
fn a_group_without_slaves_or_failover_has_no_fencing_lease() {
    let single = cluster("").spec;
    let mut c = cluster("");
    c.spec = crate::crd::cluster::RocketMQClusterSpec {
        broker: crate::crd::cluster::BrokerSpec { replicas_per_group: 1, ..single.broker },
        ..single
    };
    let files = broker_conf::config_files(&c, 0);
    assert!(!files["broker.conf"].contains("fencingLease"));
    assert!(!files["pod-0.conf"].contains("groupPeers"));
}

#[test]
fn a_config_change_changes_the_pod_template_hash() {
    let before = broker::stateful_set(&cluster(""), 0);
    let after = broker::stateful_set(&cluster("    config: {deleteWhen: \"02\"}\n"), 0);
    let hash = |s: &k8s_openapi::api::apps::v1::StatefulSet| {
        s.spec
            .as_ref()
            .and_then(|s| s.template.metadata.as_ref())
            .and_then(|m| m.annotations.as_ref())
            .expect("annotations")[broker::CONFIG_HASH]
            .clone()
    };
    assert_ne!(hash(&before), hash(&after));
    assert_eq!(hash(&before), hash(&broker::stateful_set(&cluster(""), 0)));
}

#[test]
fn the_master_service_selects_the_pod_labelled_master_of_its_group() {
    let svc = broker::master_service(&cluster(""), 1);
    let selector = svc.spec.and_then(|s| s.selector).expect("selector");
    assert_eq!(selector[broker::GROUP_LABEL], "demo-broker-1");
    assert_eq!(selector[broker::ROLE_LABEL], "master");
}

#[test]
fn without_metrics_the_probes_fall_back_to_the_remoting_port() {
    let set = namesrv::stateful_set(&cluster("  metrics: {enabled: false}\n"));
    let probe = pod(&set).containers[0].readiness_probe.clone().expect("probe");
    assert!(probe.http_get.is_none());
    assert_eq!(probe.tcp_socket.expect("tcp").port, IntOrString::Int(NAMESRV_PORT));
    let set = namesrv::stateful_set(&cluster(""));
    let probe = pod(&set).containers[0].readiness_probe.clone().expect("probe");
    assert_eq!(probe.http_get.expect("http").path.as_deref(), Some("/readyz"));
}

#[test]
fn the_name_servers_serve_their_own_list_from_a_mounted_config_map() {
    let c = cluster("  nameServer: {replicas: 3}\n");
    let map = namesrv::config_map(&c);
    let list = map.data.as_ref().and_then(|d| d.get(namesrv::ADDRESS_LIST_KEY)).expect("the list");
    assert_eq!(
        list,
        "demo-namesrv-0.demo-namesrv.mq.svc:9876;demo-namesrv-1.demo-namesrv.mq.svc:9876;demo-namesrv-2.demo-namesrv.mq.svc:9876"
    );
    let set = namesrv::stateful_set(&c);
    let spec = pod(&set);
    let server = &spec.containers[0];
    let args = server.args.clone().unwrap_or_default().join(" ");
    assert!(args.contains("--set addressServerPort=8080"), "{args}");
    assert!(args.contains("--set addressListFile=/etc/rmq/nsaddr"), "{args}");
    let mount = server.volume_mounts.as_ref().and_then(|m| m.first()).expect("a mount");
    assert_eq!(mount.mount_path, "/etc/rmq");
    let volume = spec.volumes.as_ref().and_then(|v| v.first()).expect("a volume");
    assert_eq!(volume.config_map.as_ref().map(|c| c.name.as_str()), Some("demo-namesrv"));
    let ports = namesrv::service(&c).spec.and_then(|s| s.ports).unwrap_or_default();
    assert!(ports.iter().any(|p| p.port == 8080 && p.name.as_deref() == Some("nsaddr")), "{ports:?}");
}

#[test]
fn a_restart_annotation_on_the_cluster_changes_every_pod_template() {
    let plain = cluster("");
    let mut asked = cluster("");
    asked.metadata.annotations = Some([(RESTART_ANNOTATION.to_owned(), "2026-11-22T23:30:00Z".to_owned())].into());
    let template_annotations = |set: &k8s_openapi::api::apps::v1::StatefulSet| {
        set.spec
            .as_ref()
            .and_then(|s| s.template.metadata.as_ref())
            .and_then(|m| m.annotations.clone())
            .unwrap_or_default()
    };
    for (before, after) in [
        (namesrv::stateful_set(&plain), namesrv::stateful_set(&asked)),
        (broker::stateful_set(&plain, 0), broker::stateful_set(&asked, 0)),
    ] {
        assert!(!template_annotations(&before).contains_key(RESTART_ANNOTATION));
        assert_eq!(template_annotations(&after)[RESTART_ANNOTATION], "2026-11-22T23:30:00Z");
    }
}

#[test]
fn security_mounts_the_acl_and_admin_tls_secrets_and_points_broker_conf_at_them() {
    let c = cluster(
        "  security:\n    acl: {secretName: demo-acl, operatorCredentialsSecretName: demo-operator}\n    \
         adminTls: {secretName: demo-admin-tls}\n",
    );
    let conf = &broker::config_map(&c, 0).data.expect("data")["broker.conf"];
    for line in [
        "aclEnable=true",
        "aclFile=/etc/rmq-acl/plain_acl.yml",
        "innerClientCredentialsDir=/etc/rmq-broker-credentials",
        "grpcAdminTlsCertPath=/etc/rmq-admin-tls/tls.crt",
        "grpcAdminTlsKeyPath=/etc/rmq-admin-tls/tls.key",
        "grpcAdminTlsTrustCertPath=/etc/rmq-admin-tls/ca.crt",
    ] {
        assert!(conf.lines().any(|l| l == line), "{line} missing from:\n{conf}");
    }
    let set = broker::stateful_set(&c, 0);
    let spec = pod(&set);
    let secret_of = |name: &str| {
        let volume = spec.volumes.iter().flatten().find(|v| v.name == name).expect("volume");
        volume.secret.as_ref().and_then(|s| s.secret_name.clone()).expect("a Secret volume")
    };
    assert_eq!(secret_of("acl"), "demo-acl");
    assert_eq!(secret_of("broker-credentials"), "demo-operator", "defaults to the operator's account");
    assert_eq!(secret_of("admin-tls"), "demo-admin-tls");
    let mounts = spec.containers[0].volume_mounts.as_ref().expect("mounts");
    for (name, path) in [
        ("acl", "/etc/rmq-acl"),
        ("broker-credentials", "/etc/rmq-broker-credentials"),
        ("admin-tls", "/etc/rmq-admin-tls"),
    ] {
        let mount = mounts.iter().find(|m| m.name == name).expect("mount");
        assert_eq!((mount.mount_path.as_str(), mount.read_only), (path, Some(true)));
    }
}

#[test]
fn remoting_tls_mounts_its_secret_on_namesrvs_and_brokers_and_sets_apache_tls_keys() {
    let c = cluster("  security:\n    tls: {secretName: demo-tls, mode: enforcing}\n");
    let conf = &broker::config_map(&c, 0).data.expect("data")["broker.conf"];
    for line in [
        "tls.server.mode=enforcing",
        "tls.server.certPath=/etc/rmq-tls/tls.crt",
        "tls.server.keyPath=/etc/rmq-tls/tls.key",
        "tls.test.mode.enable=false",
        "tls.enable=true",
        "tls.client.authServer=true",
        "tls.client.trustCertPath=/etc/rmq-tls/ca.crt",
    ] {
        assert!(conf.lines().any(|l| l == line), "{line} missing from:\n{conf}");
    }
    let namesrv = namesrv::stateful_set(&c);
    let server = &pod(&namesrv).containers[0];
    let args = server.args.as_ref().expect("args").join(" ");
    assert!(args.contains("--set tls.server.mode=enforcing"), "{args}");
    assert!(args.contains("--set tls.server.certPath=/etc/rmq-tls/tls.crt"), "{args}");
    for set in [namesrv, broker::stateful_set(&c, 0)] {
        let spec = pod(&set);
        let volume = spec.volumes.iter().flatten().find(|v| v.name == "tls").expect("a tls volume");
        assert_eq!(volume.secret.as_ref().and_then(|s| s.secret_name.as_deref()), Some("demo-tls"));
        let mounts = spec.containers[0].volume_mounts.as_ref().expect("mounts");
        assert!(mounts.iter().any(|m| m.name == "tls" && m.mount_path == "/etc/rmq-tls"));
    }
    let permissive = cluster("  security:\n    tls: {secretName: demo-tls}\n");
    let conf = &broker::config_map(&permissive, 0).data.expect("data")["broker.conf"];
    assert!(conf.lines().any(|l| l == "tls.server.mode=permissive"), "permissive is the default");
}

#[test]
fn a_master_may_advertise_its_groups_master_service() {
    let mut c = cluster("");
    let conf = |c: &RocketMQCluster| broker::config_map(c, 1).data.expect("data")["broker.conf"].clone();
    assert!(!conf(&c).contains("masterServiceAddress"), "off by default");
    c.spec.broker.advertise_master_service = true;
    let advertised = conf(&c);
    let line = "masterServiceAddress=demo-broker-1-master.mq.svc:10911";
    assert!(advertised.lines().any(|l| l == line), "{advertised}");
}

#[test]
fn external_access_gives_each_broker_a_node_port_service_and_its_address() {
    let c = cluster("  externalAccess: {type: NodePort}\n");
    let svc = external::broker_service(&c, 1, 2);
    assert_eq!(svc.metadata.name.as_deref(), Some("demo-broker-1-2-external"));
    let spec = svc.spec.as_ref().expect("spec");
    assert_eq!(spec.type_.as_deref(), Some("NodePort"));
    assert_eq!(spec.external_traffic_policy.as_deref(), Some("Local"), "no source NAT: the ACL sees real peers");
    let selector = spec.selector.as_ref().expect("selector");
    assert_eq!(selector["statefulset.kubernetes.io/pod-name"], "demo-broker-1-2");
    assert_eq!(external::namesrv_service(&c).metadata.name.as_deref(), Some("demo-namesrv-external"));

    let mut allocated = svc.clone();
    assert_eq!(external::overlay(&c, &allocated), None, "no node port allocated yet");
    allocated.spec.as_mut().and_then(|s| s.ports.as_mut()).expect("ports")[0].node_port = Some(31002);
    let overlay = external::overlay(&c, &allocated).expect("a node port");
    assert_eq!(overlay, "brokerAdvertisedPort=31002\n");
    let overlays = external::Overlays::from([(1, overlay)]);
    let files = broker::config_map_with_external(&c, 1, &overlays).data.expect("data");
    assert_eq!(files["pod-1-external.conf"], "brokerAdvertisedPort=31002\n");
    assert!(!files["pod-1.conf"].contains("brokerAdvertisedPort"), "pods of another template never read it");
    assert_eq!(files["pod-2-external.conf"], "", "not known: nothing written");
    let hash = |overlays| broker::config_hash(&c, 1, overlays);
    assert_ne!(hash(&overlays), hash(&external::Overlays::new()), "a new node port restarts the pod");

    let set = broker::stateful_set(&c, 1);
    let server = &pod(&set).containers[0];
    let args = server.args.as_ref().expect("args").join(" ");
    assert!(
        args.contains(
            "-c /etc/rmq/pod-$(POD_INDEX)-external.conf --set brokerIP1=$(HOST_IP) --set brokerIP2=$(POD_IP)"
        ),
        "{args}"
    );
    assert!(external::unwanted(&c, "demo-broker-1-3-external"), "beyond replicasPerGroup");
    assert!(!external::unwanted(&c, "demo-broker-1-2-external"));
    assert!(!external::unwanted(&c, "demo-broker-7-0-external"), "a group being scaled in keeps its own");
    assert!(external::unwanted(&cluster(""), "demo-namesrv-external"), "external access turned off");
    assert!(server.env.iter().flatten().any(|e| e.name == "HOST_IP"));
    let inside = broker::stateful_set(&cluster(""), 1);
    let args = pod(&inside).containers[0].args.as_ref().expect("args").join(" ");
    assert!(args.ends_with("--set brokerIP1=$(POD_IP)"), "{args}");
}

#[test]
fn without_security_no_secret_is_mounted_and_acl_stays_off() {
    let c = cluster("");
    let conf = &broker::config_map(&c, 0).data.expect("data")["broker.conf"];
    assert!(!conf.contains("aclEnable") && !conf.contains("grpcAdminTls"), "{conf}");
    let set = broker::stateful_set(&c, 0);
    assert!(pod(&set).volumes.iter().flatten().all(|v| v.secret.is_none()));
}

#[test]
fn a_load_balancer_per_broker_gives_it_the_load_balancers_address() {
    use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, ServiceStatus};
    let c = cluster("  externalAccess:\n    type: LoadBalancer\n    annotations: {lb.example.com/kind: nlb}\n");
    let mut svc = external::broker_service(&c, 0, 1);
    let spec = svc.spec.as_ref().expect("spec");
    assert_eq!(spec.type_.as_deref(), Some("LoadBalancer"));
    assert_eq!(spec.external_traffic_policy.as_deref(), Some("Local"));
    let annotations = svc.metadata.annotations.as_ref().expect("annotations");
    assert_eq!(annotations["lb.example.com/kind"], "nlb");
    let namesrv = external::namesrv_service(&c);
    assert_eq!(namesrv.spec.and_then(|s| s.type_).as_deref(), Some("LoadBalancer"));

    assert_eq!(external::overlay(&c, &svc), None, "no address until the load balancer controller gives one");
    let ingress = |ip: Option<&str>, hostname: Option<&str>| ServiceStatus {
        load_balancer: Some(LoadBalancerStatus {
            ingress: Some(vec![LoadBalancerIngress {
                ip: ip.map(str::to_owned),
                hostname: hostname.map(str::to_owned),
                ..LoadBalancerIngress::default()
            }]),
        }),
        ..ServiceStatus::default()
    };
    svc.status = Some(ingress(Some("203.0.113.9"), None));
    assert_eq!(external::overlay(&c, &svc).as_deref(), Some("brokerAdvertisedHost=203.0.113.9\n"));
    svc.status = Some(ingress(None, Some("a1b2.elb.example.com")));
    assert_eq!(external::overlay(&c, &svc).as_deref(), Some("brokerAdvertisedHost=a1b2.elb.example.com\n"));

    let set = broker::stateful_set(&c, 0);
    let server = &pod(&set).containers[0];
    let args = server.args.as_ref().expect("args").join(" ");
    assert!(args.ends_with("-c /etc/rmq/pod-$(POD_INDEX)-lb.conf --set brokerIP1=$(POD_IP)"), "{args}");
    let overlays = external::Overlays::from([(1, "brokerAdvertisedHost=203.0.113.9\n".to_owned())]);
    let files = broker::config_map_with_external(&c, 0, &overlays).data.expect("data");
    assert_eq!(files["pod-1-lb.conf"], "brokerAdvertisedHost=203.0.113.9\n");
    assert!(!files.contains_key("pod-1-external.conf"), "a NodePort pod restarting mid-roll finds no file: {files:?}");
    assert!(!server.env.iter().flatten().any(|e| e.name == "HOST_IP"), "the node's address plays no part");
}

#[test]
fn a_node_address_type_makes_each_broker_advertise_its_nodes_address_of_that_type() {
    use k8s_openapi::api::core::v1::{Node, NodeAddress, NodeStatus};
    let c = cluster("  externalAccess: {type: NodePort, nodeAddressType: ExternalIP}\n");
    let node = |name: &str, addresses: &[(&str, &str)]| Node {
        metadata: kube::api::ObjectMeta { name: Some(name.into()), ..Default::default() },
        status: Some(NodeStatus {
            addresses: Some(
                addresses.iter().map(|(t, a)| NodeAddress { type_: (*t).into(), address: (*a).into() }).collect(),
            ),
            ..NodeStatus::default()
        }),
        ..Node::default()
    };
    let nodes = [
        node("n1", &[("InternalIP", "10.0.0.1"), ("ExternalIP", "203.0.113.1")]),
        node("n2", &[("InternalIP", "10.0.0.2")]),
    ];
    let map = external::node_addresses(&c, &nodes).expect("a ConfigMap");
    assert_eq!(map.metadata.name.as_deref(), Some("demo-node-addresses"));
    let data = map.data.expect("data");
    assert_eq!(data["n1.conf"], "brokerAdvertisedHost=203.0.113.1\n");
    assert!(!data.contains_key("n2.conf"), "a node without an external IP is left out: {data:?}");

    let set = broker::stateful_set(&c, 0);
    let spec = pod(&set);
    let args = spec.containers[0].args.as_ref().expect("args").join(" ");
    assert!(args.contains("-c /etc/rmq-nodes/$(NODE_NAME).conf --set brokerIP1=$(HOST_IP)"), "{args}");
    assert!(spec.containers[0].env.iter().flatten().any(|e| e.name == "NODE_NAME"));
    let mounted = spec.containers[0].volume_mounts.iter().flatten().any(|m| m.mount_path == "/etc/rmq-nodes");
    let volume = spec.volumes.iter().flatten().find(|v| v.name == "node-addresses").expect("a volume");
    assert!(mounted);
    assert_eq!(volume.config_map.as_ref().map(|c| c.name.as_str()), Some("demo-node-addresses"));

    let plain = cluster("  externalAccess: {type: NodePort}\n");
    assert!(external::node_addresses(&plain, &nodes).is_none(), "unset: the node's primary IP, no ConfigMap");
    let args = pod(&broker::stateful_set(&plain, 0)).containers[0].args.as_ref().expect("args").join(" ");
    assert!(!args.contains("rmq-nodes"), "{args}");
}
