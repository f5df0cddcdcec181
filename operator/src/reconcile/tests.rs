//! Scripted-API-server tests of the reconcile calls: the client talks to a `tower-test` mock that
//! answers each expected request in turn, so a test proves which calls a reconcile makes, in
//! which order and with which bodies.

use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use kube::client::Body;
use kube::runtime::events::{Recorder, Reporter};
use kube::Client;
use serde_json::{json, Value};
use tower_test::mock::{self, Handle};

use super::{topic, Context, Error};
use crate::crd::topic::Topic;
use crate::metrics::Metrics;

type ApiServer = Handle<Request<Body>, Response<Body>>;

fn context() -> (Arc<Context>, ApiServer) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "default");
    let reporter = Reporter { controller: "rmq-operator".into(), instance: None };
    let (clusters, _writer) = kube::runtime::reflector::store();
    let ctx = Context {
        recorder: Recorder::new(client.clone(), reporter),
        metrics: Metrics::new(),
        supervisors: super::supervisor::Supervisors::default(),
        clusters,
        nodes: kube::runtime::reflector::store().0,
        client,
        topic_resync: Duration::from_secs(60),
    };
    (Arc::new(ctx), handle)
}

/// Waits for the next request, checks its method and path, answers `status` with `reply`, and
/// returns the request's JSON body (`Null` when it has none).
async fn expect(server: &mut ApiServer, method: &str, path: &str, status: u16, reply: Value) -> Value {
    let (request, respond) = tokio::time::timeout(Duration::from_secs(5), server.next_request())
        .await
        .expect("a request in time")
        .expect("a request");
    assert_eq!((request.method().as_str(), request.uri().path()), (method, path));
    let body = request.into_body().collect_bytes().await.expect("request body");
    let response = serde_json::to_vec(&reply).expect("json");
    respond.send_response(Response::builder().status(status).body(Body::from(response)).expect("response"));
    serde_json::from_slice(&body).unwrap_or(Value::Null)
}

fn not_found() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "NotFound", "code": 404})
}

fn topic(finalizers: &[&str], deleting: bool) -> Topic {
    let mut meta = json!({"name": "orders", "namespace": "shop", "resourceVersion": "7", "generation": 2,
        "finalizers": finalizers});
    if deleting {
        meta["deletionTimestamp"] = json!("2026-11-22T00:00:00Z");
    }
    serde_json::from_value(json!({"apiVersion": "rmq.io/v1alpha1", "kind": "Topic", "metadata": meta,
        "spec": {"clusterRef": "demo"}}))
    .expect("topic")
}

const CLUSTER: &str = "/apis/rmq.io/v1alpha1/namespaces/shop/rocketmqclusters/demo";
const TOPIC: &str = "/apis/rmq.io/v1alpha1/namespaces/shop/topics/orders";

#[tokio::test]
async fn a_topic_of_a_missing_cluster_releases_its_finalizer_then_says_cluster_gone() {
    let (ctx, mut server) = context();
    let t = topic(&["example.com/keep", topic::FINALIZER], false);
    let reconcile = tokio::spawn({
        let ctx = ctx.clone();
        async move { topic::reconcile(&t, &ctx).await }
    });
    expect(&mut server, "GET", CLUSTER, 404, not_found()).await;
    let released =
        expect(&mut server, "PATCH", TOPIC, 200, serde_json::to_value(topic(&[], false)).expect("json")).await;
    assert_eq!(released["metadata"]["finalizers"], json!(["example.com/keep"]), "only ours goes: {released}");
    assert_eq!(released["metadata"]["resourceVersion"], json!("7"), "guarded by the version read");
    let status = expect(
        &mut server,
        "PATCH",
        &format!("{TOPIC}/status"),
        200,
        serde_json::to_value(topic(&[], false)).expect("json"),
    )
    .await;
    let ready = &status["status"]["conditions"][0];
    assert_eq!(
        (ready["type"].as_str(), ready["status"].as_str(), ready["reason"].as_str()),
        (Some("Ready"), Some("False"), Some("ClusterGone")),
        "{status}"
    );
    assert_eq!(status["status"]["observedGeneration"], json!(2));
    assert!(reconcile.await.expect("join").is_ok());
}

#[tokio::test]
async fn deleting_a_topic_whose_cluster_is_gone_only_releases_the_finalizer() {
    let (ctx, mut server) = context();
    let t = topic(&[topic::FINALIZER], true);
    let reconcile = tokio::spawn({
        let ctx = ctx.clone();
        async move { topic::reconcile(&t, &ctx).await }
    });
    expect(&mut server, "GET", CLUSTER, 404, not_found()).await;
    let released =
        expect(&mut server, "PATCH", TOPIC, 200, serde_json::to_value(topic(&[], true)).expect("json")).await;
    assert_eq!(released["metadata"]["finalizers"], json!([]));
    assert!(reconcile.await.expect("join").is_ok());
    let more = futures::FutureExt::now_or_never(server.next_request());
    assert!(more.is_none(), "no status write for a topic on its way out");
}

#[tokio::test]
async fn a_topic_gets_its_finalizer_before_any_broker_is_asked() {
    let (ctx, mut server) = context();
    let t = topic(&[], false);
    let reconcile = tokio::spawn({
        let ctx = ctx.clone();
        async move { topic::reconcile(&t, &ctx).await }
    });
    let cluster = json!({"apiVersion": "rmq.io/v1alpha1", "kind": "RocketMQCluster",
        "metadata": {"name": "demo", "namespace": "shop", "uid": "u1"},
        "spec": {"image": "rmq:test", "broker": {"groups": 1, "replicasPerGroup": 3, "storage": {"size": "1Gi"}}}});
    expect(&mut server, "GET", CLUSTER, 200, cluster).await;
    let added = expect(
        &mut server,
        "PATCH",
        TOPIC,
        200,
        serde_json::to_value(topic(&[topic::FINALIZER], false)).expect("json"),
    )
    .await;
    assert_eq!(added["metadata"]["finalizers"], json!([topic::FINALIZER]));
    // The brokers' names do not resolve here: the reconcile fails as a broker error, to be retried.
    let result = reconcile.await.expect("join");
    assert!(matches!(result, Err(Error::Broker(_))), "{result:?}");
}

/// The request's query string, for the server-side-apply parameters.
async fn expect_apply(server: &mut ApiServer, path: &str) -> Value {
    let (request, respond) = tokio::time::timeout(Duration::from_secs(5), server.next_request())
        .await
        .expect("a request in time")
        .expect("a request");
    assert_eq!((request.method().as_str(), request.uri().path()), ("PATCH", path));
    let query = request.uri().query().unwrap_or_default().to_owned();
    assert!(query.contains("fieldManager=rmq-operator") && query.contains("force=true"), "{path}?{query}");
    let content_type = request.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(content_type.as_deref(), Some("application/apply-patch+yaml"), "{path}");
    let body = request.into_body().collect_bytes().await.expect("request body");
    respond.send_response(Response::builder().status(200).body(Body::from(body.to_vec())).expect("response"));
    serde_json::from_slice(&body).expect("a JSON body")
}

#[tokio::test]
async fn a_cluster_is_applied_server_side_owned_and_in_dependency_order() {
    let (ctx, mut server) = context();
    let cluster: crate::crd::cluster::RocketMQCluster = serde_json::from_value(json!({
        "apiVersion": "rmq.io/v1alpha1", "kind": "RocketMQCluster",
        "metadata": {"name": "demo", "namespace": "shop", "uid": "u-1", "generation": 1},
        "spec": {"image": "rmq:test", "broker": {"groups": 1, "replicasPerGroup": 1, "storage": {"size": "1Gi"}}}}))
    .expect("cluster");
    let reconcile = tokio::spawn({
        let ctx = ctx.clone();
        async move { super::cluster::reconcile(&cluster, &ctx).await }
    });
    let core = "/api/v1/namespaces/shop";
    let apps = "/apis/apps/v1/namespaces/shop";
    let order = [
        format!("{core}/services/demo-namesrv"),
        format!("{core}/configmaps/demo-namesrv"),
        format!("{apps}/statefulsets/demo-namesrv"),
        format!("{core}/configmaps/demo-broker-0"),
        format!("{core}/services/demo-broker-0"),
        format!("{core}/services/demo-broker-0-master"),
        format!("{apps}/statefulsets/demo-broker-0"),
        "/apis/policy/v1/namespaces/shop/poddisruptionbudgets/demo-broker-0".to_owned(),
    ];
    for path in &order {
        let body = expect_apply(&mut server, path).await;
        let owner = &body["metadata"]["ownerReferences"][0];
        assert_eq!((owner["kind"].as_str(), owner["uid"].as_str()), (Some("RocketMQCluster"), Some("u-1")), "{path}");
        assert_eq!(owner["controller"], json!(true), "{path}");
    }
    // What follows (listing dropped groups, observing, status) needs a fuller script: stop here.
    reconcile.abort();
}
