//! The operator against a real kube-apiserver + etcd + kube-controller-manager
//! (`hack/k8s-env/up.sh`; `tests/k8s-operator.sh` starts them and runs this file with
//! `--ignored`). The operator runs in this process with the identity the Helm chart's RBAC
//! grants (`K8S_TEST_OPERATOR_KUBECONFIG`); the test acts as a cluster admin (`KUBECONFIG`).
//!
//! No kubelet runs, so pods never start: the test marks them Ready itself, as a kubelet would
//! after `/readyz` answered. What brokers do once running (a `Topic` created, corrected and
//! deleted on them among it) is covered by the end-to-end run, `tests/k8s-e2e.sh`.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Pod, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Api, Client, CustomResourceExt, Resource, ResourceExt};
use rmq_operator::crd::cluster::RocketMQCluster;
use rmq_operator::crd::topic::Topic;
use rmq_operator::metrics::{self, Metrics};
use rmq_operator::reconcile::Settings;
use serde_json::json;

mod common;

use common::{admin, client_from, eventually, http_get, WAIT};

async fn install_crds(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in [RocketMQCluster::crd(), Topic::crd()] {
        let name = crd.name_any();
        crds.patch(&name, &PatchParams::apply("it").force(), &Patch::Apply(&crd)).await.expect("apply CRD");
        let established = await_condition(crds.clone(), &name, conditions::is_crd_established());
        tokio::time::timeout(WAIT, established).await.expect("CRD established in time").expect("watch");
    }
}

async fn namespace(client: &Client, prefix: &str) -> String {
    let name = format!("{prefix}-{}", std::process::id());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).expect("namespace");
    let api: Api<Namespace> = Api::all(client.clone());
    let _ = api.delete(&name, &DeleteParams::default()).await;
    eventually("the old test namespace to go", || async {
        api.get_opt(&name).await.expect("get").is_none().then_some(())
    })
    .await;
    api.create(&PostParams::default(), &ns).await.expect("create namespace");
    name
}

/// The operator, in this process, with the chart's RBAC when `K8S_TEST_OPERATOR_KUBECONFIG` is set.
async fn start_operator() -> (tokio::task::JoinHandle<()>, u16) {
    let client = match std::env::var("K8S_TEST_OPERATOR_KUBECONFIG") {
        Ok(_) => client_from("K8S_TEST_OPERATOR_KUBECONFIG").await,
        Err(_) => admin().await,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let m = Metrics::new();
    tokio::spawn(metrics::serve(listener, m.clone()));
    let settings = Settings { identity: "it".into(), topic_resync: Duration::from_secs(2) };
    (tokio::spawn(rmq_operator::reconcile::run(client, m, settings)), port)
}

/// Marks every pod of `ns` Running and Ready, as a kubelet would once its probes pass.
async fn mark_pods_ready(client: &Client, ns: &str) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    for pod in pods.list(&ListParams::default()).await.expect("pods") {
        let ready = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        if ready || pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let now = k8s_openapi::chrono::Utc::now().to_rfc3339();
        let status = json!({"status": {"phase": "Running", "podIP": "127.0.0.1", "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": now},
            {"type": "ContainersReady", "status": "True", "lastTransitionTime": now}]}});
        let _ = pods.patch_status(&pod.name_any(), &PatchParams::default(), &Patch::Merge(&status)).await;
    }
}

fn condition(c: &RocketMQCluster, type_: &str) -> Option<(String, String)> {
    let status = c.status.as_ref()?;
    status.conditions.iter().find(|x| x.type_ == type_).map(|x| (x.status.clone(), x.reason.clone()))
}

fn cluster_spec(name: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut spec = json!({
        "image": "rmq:test",
        "nameServer": {"replicas": 1},
        "broker": {"groups": 1, "replicasPerGroup": 2, "storage": {"size": "1Gi", "whenDeleted": "Delete"},
                   "replication": {"automaticFailover": false}},
    });
    merge(&mut spec, extra);
    json!({"apiVersion": "rmq.io/v1alpha1", "kind": "RocketMQCluster", "metadata": {"name": name}, "spec": spec})
}

fn merge(base: &mut serde_json::Value, extra: serde_json::Value) {
    match (base, extra) {
        (serde_json::Value::Object(b), serde_json::Value::Object(e)) => {
            for (k, v) in e {
                merge(b.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (b, e) => *b = e,
    }
}

async fn uid_of(pods: &Api<Pod>, name: &str) -> Option<String> {
    pods.get_opt(name).await.expect("get pod").and_then(|p| p.metadata.uid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real control plane: tests/k8s-operator.sh"]
async fn the_operator_builds_rolls_scales_reports_and_removes_a_cluster() {
    let client = admin().await;
    install_crds(&client).await;
    let ns = namespace(&client, "it-cluster").await;
    let (operator, metrics_port) = start_operator().await;
    let clusters: Api<RocketMQCluster> = Api::namespaced(client.clone(), &ns);
    let created = clusters
        .create(&PostParams::default(), &serde_json::from_value(cluster_spec("alpha", json!({}))).expect("cluster"))
        .await
        .expect("create cluster");
    let uid = created.uid().expect("uid");

    // Every child exists, owned by the cluster and applied by our field manager.
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
    let services: Api<Service> = Api::namespaced(client.clone(), &ns);
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let pdbs: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), &ns);
    let broker_set =
        eventually("the broker StatefulSet", || async { sets.get_opt("alpha-broker-0").await.expect("get") }).await;
    let mut children: Vec<(
        String,
        Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference>,
        BTreeSet<String>,
    )> = Vec::new();
    let managers = |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| -> BTreeSet<String> {
        m.managed_fields.iter().flatten().filter_map(|f| f.manager.clone()).collect()
    };
    for name in ["alpha-namesrv", "alpha-broker-0"] {
        let s = sets.get(name).await.expect("StatefulSet");
        children.push((format!("StatefulSet {name}"), s.owner_references().to_vec(), managers(s.meta())));
    }
    for name in ["alpha-namesrv", "alpha-broker-0", "alpha-broker-0-master"] {
        let s = services.get(name).await.expect("Service");
        children.push((format!("Service {name}"), s.owner_references().to_vec(), managers(s.meta())));
    }
    let cm = maps.get("alpha-broker-0").await.expect("ConfigMap");
    children.push(("ConfigMap".into(), cm.owner_references().to_vec(), managers(cm.meta())));
    let pdb = pdbs.get("alpha-broker-0").await.expect("PDB");
    children.push(("PodDisruptionBudget".into(), pdb.owner_references().to_vec(), managers(pdb.meta())));
    for (what, owners, managers) in &children {
        assert_eq!(owners.len(), 1, "{what}");
        assert_eq!((owners[0].uid.as_str(), owners[0].controller), (uid.as_str(), Some(true)), "{what}");
        assert!(managers.contains("rmq-operator"), "{what} managed by {managers:?}");
    }
    let conf = &cm.data.as_ref().expect("data")["broker.conf"];
    assert!(conf.lines().any(|l| l == "brokerName=alpha-broker-0"), "{conf}");
    assert_eq!(broker_set.spec.as_ref().and_then(|s| s.replicas), Some(2));

    // Pods exist (the controller-manager made them) but are not ready: the status says so.
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    eventually("three pods", || async {
        (pods.list(&ListParams::default()).await.expect("pods").items.len() == 3).then_some(())
    })
    .await;
    eventually("a status", || async { clusters.get("alpha").await.expect("get").status.map(|_| ()) }).await;
    let now = clusters.get("alpha").await.expect("get");
    assert_eq!(condition(&now, "Ready").map(|c| c.1), Some("PodsNotReady".into()));
    assert_eq!(now.status.as_ref().and_then(|s| s.observed_generation), now.meta().generation);
    assert_eq!(
        now.status.as_ref().map(|s| s.name_server_addresses.clone()),
        Some(vec![format!("alpha-namesrv-0.alpha-namesrv.{ns}.svc:9876")])
    );

    // Ready pods: Ready, ordinal 0 is the master, labelled so the master Service selects it.
    mark_pods_ready(&client, &ns).await;
    let ready = eventually("Ready", || async {
        let c = clusters.get("alpha").await.expect("get");
        (condition(&c, "Ready").map(|c| c.0) == Some("True".into())).then_some(c)
    })
    .await;
    let group = &ready.status.as_ref().expect("status").groups[0];
    assert_eq!(group.master_pod.as_deref(), Some("alpha-broker-0-0"));
    let role = |p: Pod| p.labels().get("rmq.io/role").cloned();
    assert_eq!(role(pods.get("alpha-broker-0-0").await.expect("pod")).as_deref(), Some("master"));
    assert_eq!(role(pods.get("alpha-broker-0-1").await.expect("pod")).as_deref(), Some("slave"));

    // A config change rolls the group: the slave first, the master only once the slave is back.
    let (master_uid, slave_uid) = (uid_of(&pods, "alpha-broker-0-0").await, uid_of(&pods, "alpha-broker-0-1").await);
    let change = json!({"spec": {"broker": {"config": {"deleteWhen": "02"}}}});
    clusters.patch("alpha", &PatchParams::default(), &Patch::Merge(&change)).await.expect("spec change");
    eventually("the ConfigMap to change", || async {
        let cm = maps.get("alpha-broker-0").await.expect("cm");
        cm.data.as_ref().is_some_and(|d| d["broker.conf"].contains("deleteWhen=02")).then_some(())
    })
    .await;
    eventually("the slave to restart", || async {
        (uid_of(&pods, "alpha-broker-0-1").await != slave_uid).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(uid_of(&pods, "alpha-broker-0-0").await, master_uid, "the master restarted before the slave was ready");
    let rolling = clusters.get("alpha").await.expect("get");
    assert_eq!(condition(&rolling, "Progressing").map(|c| c.0), Some("True".into()));
    eventually("the master to restart", || async {
        mark_pods_ready(&client, &ns).await;
        (uid_of(&pods, "alpha-broker-0-0").await != master_uid).then_some(())
    })
    .await;
    eventually("the roll to finish", || async {
        mark_pods_ready(&client, &ns).await;
        let c = clusters.get("alpha").await.expect("get");
        let done = condition(&c, "Progressing").map(|c| c.0) == Some("False".into())
            && condition(&c, "Ready").map(|c| c.0) == Some("True".into());
        done.then_some(())
    })
    .await;

    // The restart annotation rolls the group the same way, without a spec change.
    let slave_uid = uid_of(&pods, "alpha-broker-0-1").await;
    let restart = json!({"metadata": {"annotations": {"rmq.io/restart": "2026-11-22T23:30:00Z"}}});
    clusters.patch("alpha", &PatchParams::default(), &Patch::Merge(&restart)).await.expect("restart request");
    eventually("the slave to restart on request", || async {
        mark_pods_ready(&client, &ns).await;
        (uid_of(&pods, "alpha-broker-0-1").await != slave_uid).then_some(())
    })
    .await;
    let template = sets.get("alpha-broker-0").await.expect("set").spec.and_then(|s| s.template.metadata);
    let annotations = template.and_then(|m| m.annotations).unwrap_or_default();
    assert_eq!(annotations.get("rmq.io/restart").map(String::as_str), Some("2026-11-22T23:30:00Z"));

    // A switchover asked of a group without automatic failover is refused, said in an Event,
    // and the request removed.
    let asked = json!({"metadata": {"annotations": {"rmq.io/switchover": "alpha-broker-0"}}});
    clusters.patch("alpha", &PatchParams::default(), &Patch::Merge(&asked)).await.expect("switchover request");
    eventually("the switchover request to be answered", || async {
        let c = clusters.get("alpha").await.expect("get");
        (!c.annotations().contains_key("rmq.io/switchover")).then_some(())
    })
    .await;
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), &ns);
    eventually("a SwitchoverFailed event", || async {
        let list = events.list(&ListParams::default()).await.expect("events");
        list.items.iter().any(|e| e.reason.as_deref() == Some("SwitchoverFailed")).then_some(())
    })
    .await;
    eventually("the restart roll to finish", || async {
        mark_pods_ready(&client, &ns).await;
        let c = clusters.get("alpha").await.expect("get");
        let done = condition(&c, "Progressing").map(|c| c.0) == Some("False".into())
            && condition(&c, "Ready").map(|c| c.0) == Some("True".into());
        done.then_some(())
    })
    .await;

    // Scale out adds a group; scale in removes it.
    let groups = |n: i32| json!({"spec": {"broker": {"groups": n}}});
    clusters.patch("alpha", &PatchParams::default(), &Patch::Merge(&groups(2))).await.expect("scale out");
    eventually("a second group", || async { sets.get_opt("alpha-broker-1").await.expect("get") }).await;
    // Scale in: no broker runs here, so the group's backlog cannot be read and, past the drain
    // limit, the operator refuses and keeps the group; a limit of 0 removes it anyway.
    let scale_in = |limit: i32| json!({"spec": {"broker": {"groups": 1, "scaleInDrainSeconds": limit}}});
    clusters.patch("alpha", &PatchParams::default(), &Patch::Merge(&scale_in(2))).await.expect("scale in");
    eventually("the scale-in to be refused", || async {
        let c = clusters.get("alpha").await.expect("get");
        let refused = condition(&c, "Degraded").map(|c| c.1) == Some("ScaleInRefused".into());
        refused.then_some(c)
    })
    .await;
    assert!(sets.get_opt("alpha-broker-1").await.expect("get").is_some(), "a refused scale-in removed the group");
    let draining = clusters.get("alpha").await.expect("get").status.expect("status").draining;
    assert_eq!(draining.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(), ["alpha-broker-1"]);
    clusters.patch("alpha", &PatchParams::default(), &Patch::Merge(&scale_in(0))).await.expect("force scale in");
    eventually("the second group to go", || async {
        let gone = sets.get_opt("alpha-broker-1").await.expect("get").is_none()
            && maps.get_opt("alpha-broker-1").await.expect("get").is_none();
        let c = clusters.get("alpha").await.expect("get");
        let cleared = condition(&c, "Degraded").map(|c| c.1) != Some("ScaleInRefused".into())
            && c.status.as_ref().is_some_and(|s| s.draining.is_empty());
        (gone && cleared).then_some(())
    })
    .await;

    // A group with automatic failover and no reachable broker: no master, failover pending.
    let beta =
        cluster_spec("beta", json!({"broker": {"replicasPerGroup": 3, "replication": {"automaticFailover": true}}}));
    clusters.create(&PostParams::default(), &serde_json::from_value(beta).expect("beta")).await.expect("create beta");
    eventually("beta's failover condition", || async {
        mark_pods_ready(&client, &ns).await;
        let c = clusters.get("beta").await.expect("get");
        (condition(&c, "FailoverInProgress") == Some(("True".into(), "MasterUnreachable".into()))).then_some(())
    })
    .await;

    // The operator's /metrics serves every operator series the dashboards and rules use.
    let (status, body) = http_get(metrics_port, "/metrics").await;
    assert_eq!(status, 200);
    let scrape = prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_owned()))).expect("exposition format");
    let served: BTreeSet<String> = scrape.samples.iter().map(|s| s.metric.clone()).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut wanted = Vec::new();
    let exprs = rmq_testkit::observability::all_exprs(&root);
    for (origin, expr) in &exprs {
        for name in rmq_testkit::observability::metric_names(origin, expr) {
            if name.starts_with("rocketmq_operator_") {
                wanted.push((origin.as_str(), name));
            }
        }
    }
    assert!(wanted.len() >= 8, "the operator dashboard and rules: {wanted:?}");
    let missing = rmq_testkit::observability::unserved(wanted, &served);
    assert!(missing.is_empty(), "referenced but not served: {missing:#?}\nserved: {served:?}");
    let restarts = scrape.samples.iter().find(|s| s.metric == "rocketmq_operator_rolling_restarts_total");
    assert!(matches!(restarts.map(|s| &s.value), Some(prometheus_parse::Value::Counter(v)) if *v >= 2.0));

    // Deleting the cluster removes everything it owned (the garbage collector follows the owners).
    clusters.delete("alpha", &DeleteParams::background()).await.expect("delete");
    eventually("alpha's objects to go", || async {
        let selector = ListParams::default().labels("app.kubernetes.io/instance=alpha");
        let left = sets.list(&selector).await.expect("list").items.len()
            + services.list(&selector).await.expect("list").items.len()
            + maps.list(&selector).await.expect("list").items.len()
            + pdbs.list(&selector).await.expect("list").items.len();
        (left == 0).then_some(())
    })
    .await;
    operator.abort();
    let _ = Api::<Namespace>::all(client).delete(&ns, &DeleteParams::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real control plane: tests/k8s-operator.sh"]
async fn a_topic_keeps_its_finalizer_while_its_cluster_lives_and_is_released_when_the_cluster_goes() {
    let client = admin().await;
    install_crds(&client).await;
    let ns = namespace(&client, "it-topic").await;
    let (operator, _) = start_operator().await;
    let clusters: Api<RocketMQCluster> = Api::namespaced(client.clone(), &ns);
    let topics: Api<Topic> = Api::namespaced(client.clone(), &ns);
    let spec = serde_json::from_value(cluster_spec("gamma", json!({}))).expect("cluster");
    clusters.create(&PostParams::default(), &spec).await.expect("create cluster");
    let topic = |name: &str, cluster: &str| -> Topic {
        serde_json::from_value(json!({"apiVersion": "rmq.io/v1alpha1", "kind": "Topic", "metadata": {"name": name},
            "spec": {"clusterRef": cluster, "writeQueueNums": 4, "readQueueNums": 4}}))
        .expect("topic")
    };
    topics.create(&PostParams::default(), &topic("orders", "gamma")).await.expect("create topic");
    topics.create(&PostParams::default(), &topic("kept", "gamma")).await.expect("create topic");
    topics.create(&PostParams::default(), &topic("lonely", "nowhere")).await.expect("create topic");
    let finalizer = rmq_operator::reconcile::topic::FINALIZER;
    for name in ["orders", "kept"] {
        eventually("the finalizer on a topic of a live cluster", || async {
            topics.get(name).await.expect("get").finalizers().iter().any(|f| f == finalizer).then_some(())
        })
        .await;
    }
    let ready = |t: &Topic| -> Option<(String, String, String)> {
        let c = t.status.as_ref()?.conditions.iter().find(|c| c.type_ == "Ready")?;
        Some((c.status.clone(), c.reason.clone(), c.message.clone()))
    };
    let lonely = eventually("the topic of a missing cluster to say so", || async {
        let t = topics.get("lonely").await.expect("get");
        ready(&t).filter(|r| r.1 == "ClusterGone").map(|_| t)
    })
    .await;
    assert!(lonely.finalizers().is_empty(), "no finalizer without a cluster: {:?}", lonely.finalizers());

    // The brokers never run here, so the topic cannot be deleted from them: deleting the
    // resource waits for them, until the cluster itself goes.
    topics.delete("orders", &DeleteParams::default()).await.expect("delete topic");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(topics.get_opt("orders").await.expect("get").is_some(), "held by its finalizer while the cluster lives");
    clusters.delete("gamma", &DeleteParams::background()).await.expect("delete cluster");
    eventually("the finalizer released once the cluster went", || async {
        topics.get_opt("orders").await.expect("get").is_none().then_some(())
    })
    .await;
    let kept = eventually("the remaining topic to say its cluster went", || async {
        let t = topics.get("kept").await.expect("get");
        ready(&t).filter(|r| r.1 == "ClusterGone").map(|_| t)
    })
    .await;
    assert!(kept.finalizers().is_empty(), "released: {:?}", kept.finalizers());
    assert!(ready(&kept).is_some_and(|r| r.0 == "False" && r.2.contains("finalizer is released")));
    for name in ["kept", "lonely"] {
        topics.delete(name, &DeleteParams::default()).await.expect("delete topic");
    }
    operator.abort();
    let _ = Api::<Namespace>::all(client).delete(&ns, &DeleteParams::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real control plane: tests/k8s-operator.sh"]
async fn external_access_gives_brokers_node_ports_or_load_balancers_that_they_advertise() {
    let client = admin().await;
    install_crds(&client).await;
    let ns = namespace(&client, "it-external").await;
    let (operator, _) = start_operator().await;
    let clusters: Api<RocketMQCluster> = Api::namespaced(client.clone(), &ns);
    let spec = cluster_spec("delta", json!({"externalAccess": {"type": "NodePort"}}));
    clusters.create(&PostParams::default(), &serde_json::from_value(spec).expect("cluster")).await.expect("create");
    let services: Api<Service> = Api::namespaced(client.clone(), &ns);
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    for ordinal in 0..2 {
        let name = format!("delta-broker-0-{ordinal}-external");
        let service =
            eventually("a member's external Service", || async { services.get_opt(&name).await.expect("get") }).await;
        let spec = service.spec.as_ref().expect("spec");
        assert_eq!(spec.type_.as_deref(), Some("NodePort"));
        let port = spec.ports.iter().flatten().next().and_then(|p| p.node_port).expect("an allocated node port");
        eventually("the pod's configuration with its node port", || async {
            let map = maps.get_opt("delta-broker-0").await.expect("get")?;
            let conf = map.data?.remove(&format!("pod-{ordinal}-external.conf"))?;
            (conf == format!("brokerAdvertisedPort={port}\n")).then_some(())
        })
        .await;
    }
    let namesrv = services.get("delta-namesrv-external").await.expect("the NameServers' external Service");
    assert_eq!(namesrv.spec.and_then(|s| s.type_).as_deref(), Some("NodePort"));

    // Load balancers: until their addresses are known, the brokers keep what they had and the
    // cluster says what it waits for; then each pod is configured with its own.
    let patch = json!({"spec": {"externalAccess": {"type": "LoadBalancer"}}});
    clusters.patch("delta", &PatchParams::default(), &Patch::Merge(patch)).await.expect("patch");
    eventually("Progressing: waiting for the load balancers' addresses", || async {
        let c = clusters.get("delta").await.expect("get");
        let (status, reason) = condition(&c, "Progressing")?;
        (status == "True" && reason == "WaitingForExternalAddress").then_some(())
    })
    .await;
    for name in ["delta-namesrv-external", "delta-broker-0-0-external", "delta-broker-0-1-external"] {
        let service = services.get(name).await.expect("get");
        assert_eq!(service.spec.and_then(|s| s.type_).as_deref(), Some("LoadBalancer"), "{name}");
    }
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns);
    let template_args = |set: StatefulSet| {
        set.spec.and_then(|s| s.template.spec).and_then(|p| p.containers.into_iter().next()?.args).unwrap_or_default()
    };
    let args = template_args(sets.get("delta-broker-0").await.expect("get")).join(" ");
    assert!(args.contains("brokerIP1=$(HOST_IP)"), "unchanged while the addresses are unknown: {args}");
    // What a cloud's load balancer controller does: an IP for one, a DNS name for the other.
    for (ordinal, ingress) in [(0, json!({"ip": "203.0.113.10"})), (1, json!({"hostname": "lb-1.example.com"}))] {
        let status = json!({"status": {"loadBalancer": {"ingress": [ingress]}}});
        let name = format!("delta-broker-0-{ordinal}-external");
        services.patch_status(&name, &PatchParams::default(), &Patch::Merge(status)).await.expect("patch status");
    }
    eventually("each pod's configuration with its load balancer's address", || async {
        let data = maps.get_opt("delta-broker-0").await.expect("get")?.data?;
        let ip = data.get("pod-0-lb.conf")? == "brokerAdvertisedHost=203.0.113.10\n";
        let name = data.get("pod-1-lb.conf")? == "brokerAdvertisedHost=lb-1.example.com\n";
        (ip && name).then_some(())
    })
    .await;
    let args = template_args(sets.get("delta-broker-0").await.expect("get")).join(" ");
    assert!(args.ends_with("-lb.conf --set brokerIP1=$(POD_IP)"), "{args}");

    // Node ports on each node's external IP: the operator (with the chart's RBAC) lists the
    // nodes' addresses for brokers to read their own node's.
    let nodes: Api<Node> = Api::all(client.clone());
    let node_name = format!("{ns}-node");
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node_name}});
    nodes.create(&PostParams::default(), &serde_json::from_value(node).expect("node")).await.expect("create node");
    let status = json!({"status": {"addresses": [{"type": "InternalIP", "address": "10.9.0.1"},
                                                 {"type": "ExternalIP", "address": "198.51.100.7"}]}});
    nodes.patch_status(&node_name, &PatchParams::default(), &Patch::Merge(status)).await.expect("node status");
    let patch = json!({"spec": {"externalAccess": {"type": "NodePort", "nodeAddressType": "ExternalIP"}}});
    clusters.patch("delta", &PatchParams::default(), &Patch::Merge(patch)).await.expect("patch");
    eventually("the node's external address listed for brokers", || async {
        let data = maps.get_opt("delta-node-addresses").await.expect("get")?.data?;
        (data.get(&format!("{node_name}.conf"))? == "brokerAdvertisedHost=198.51.100.7\n").then_some(())
    })
    .await;
    eventually("brokers reading their node's file", || async {
        let args = template_args(sets.get("delta-broker-0").await.expect("get")).join(" ");
        args.contains("-c /etc/rmq-nodes/$(NODE_NAME).conf").then_some(())
    })
    .await;
    // A node's new address reaches the list.
    let status = json!({"status": {"addresses": [{"type": "ExternalIP", "address": "198.51.100.8"}]}});
    nodes.patch_status(&node_name, &PatchParams::default(), &Patch::Merge(status)).await.expect("node status");
    eventually("the node's new address listed", || async {
        let data = maps.get_opt("delta-node-addresses").await.expect("get")?.data?;
        (data.get(&format!("{node_name}.conf"))? == "brokerAdvertisedHost=198.51.100.8\n").then_some(())
    })
    .await;
    let _ = nodes.delete(&node_name, &DeleteParams::default()).await;

    // Turned off: the external Services go.
    let patch = json!({"spec": {"externalAccess": null}});
    clusters.patch("delta", &PatchParams::default(), &Patch::Merge(patch)).await.expect("patch");
    eventually("the external Services to go", || async {
        let gone = services.get_opt("delta-namesrv-external").await.expect("get").is_none()
            && services.get_opt("delta-broker-0-0-external").await.expect("get").is_none()
            && maps.get_opt("delta-node-addresses").await.expect("get").is_none();
        gone.then_some(())
    })
    .await;
    operator.abort();
    let _ = Api::<Namespace>::all(client).delete(&ns, &DeleteParams::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real control plane: tests/k8s-operator.sh"]
async fn the_api_server_refuses_invalid_specs_with_the_schemas_message() {
    let client = admin().await;
    install_crds(&client).await;
    let ns = namespace(&client, "it-invalid").await;
    let clusters: Api<RocketMQCluster> = Api::namespaced(client.clone(), &ns);
    let cases = [
        (json!({"broker": {"replicasPerGroup": 0}}), "broker.replicasPerGroup must be 1 to 5"),
        (json!({"broker": {"config": {"brokerId": "3"}}}), "may not set a key the operator owns"),
        (json!({"broker": {"replication": {"inSyncReplicas": 3}}}), "inSyncReplicas cannot exceed"),
        (json!({"broker": {"storage": {"size": "lots"}}}), "positive quantity"),
        (json!({"image": ""}), "image must not be empty"),
        (
            json!({"externalAccess": {"type": "LoadBalancer", "nodeAddressType": "ExternalIP"}}),
            "applies to type NodePort only",
        ),
        (
            json!({"externalAccess": {"type": "NodePort"}, "broker": {"advertiseMasterService": true}}),
            "exclude each other",
        ),
        (
            json!({"security": {"acl": {"secretName": "acl", "operatorCredentialsSecretName": "op"}}}),
            "security.acl with slaves needs security.adminTls",
        ),
        (json!({"broker": {"config": {"aclEnable": "true"}}}), "may not set a key the operator owns"),
        (
            json!({"security": {"tls": {"secretName": "tls"}}, "broker": {"config": {"tls.server.mode": "disabled"}}}),
            "the operator owns the tls.* keys",
        ),
        (json!({"security": {"tls": {"secretName": ""}}}), "security.tls.secretName must not be empty"),
    ];
    for (i, (bad, message)) in cases.into_iter().enumerate() {
        let spec = cluster_spec(&format!("bad-{i}"), bad);
        let refused = clusters
            .create(&PostParams::default(), &serde_json::from_value(spec).expect("typed"))
            .await
            .expect_err("an invalid spec is refused");
        assert!(refused.to_string().contains(message), "case {i}: {refused}");
    }
    let _ = Api::<Namespace>::all(client).delete(&ns, &DeleteParams::default()).await;
}
