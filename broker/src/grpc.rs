//! The gRPC admin API (`rmq.admin.v1.ReplicationAdmin`, from `rmq-admin-api`) on
//! `grpcAdminPort`: replication status, promote, follow, fence, and the epoch confirmations a
//! fenced group's master asks its peers for. Each call is a thin shell over
//! [`crate::ha::Replication`], the state the remoting admin codes use too. Switchover is the
//! failover controller's (`rmq-controller`), built from these calls.

use std::sync::Arc;

use std::time::Duration;

use rmq_admin_api::connect::{ClientTls, Pem};
use rmq_admin_api::v1::replication_admin_server::{ReplicationAdmin, ReplicationAdminServer};
use rmq_admin_api::v1::{
    ConfirmEpochReply, ConfirmEpochRequest, FenceReply, FenceRequest, FollowReply, FollowRequest, PromoteReply,
    PromoteRequest, SlaveStatus, StatusReply, StatusRequest,
};
use rmq_remoting::rpc::tls::{Accepted, ClientAuth, TlsError, TlsMode, TlsServer, TlsSettings};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::{Request, Response, Status};
use tracing::{debug, info, warn};

use crate::config::BrokerRole;
use crate::ha::role::{FollowOutcome, Following, RoleChangeError};
use crate::runtime::Broker;

/// Serves the admin API on `listener` until `stop`; over mutual TLS when `grpcAdminTls*` is set.
pub async fn serve(broker: Arc<Broker>, listener: TcpListener, mut stop: watch::Receiver<bool>) {
    let addr = listener.local_addr().ok();
    let tls = broker.admin_tls.clone();
    let service = ReplicationAdminServer::new(AdminService { broker });
    let stopped = async move {
        let _ = stop.wait_for(|stop| *stop).await;
    };
    let router = tonic::transport::Server::builder().add_service(service);
    let served = match tls {
        Some(tls) => {
            info!(?addr, "serving the gRPC admin API over mutual TLS");
            router.serve_with_incoming_shutdown(tls_incoming(listener, tls), stopped).await
        }
        None => {
            info!(?addr, "serving the gRPC admin API");
            router.serve_with_incoming_shutdown(TcpListenerStream::new(listener), stopped).await
        }
    };
    if let Err(e) = served {
        warn!(error = %e, "the gRPC admin API stopped");
    }
}

/// The admin port's TLS: the `grpcAdminTls*` files, a client certificate from their CA
/// required, HTTP/2 offered; the files are re-read when they change (a renewed certificate is
/// served to new connections without a restart).
pub fn tls_server(files: &ClientTls) -> Result<Option<Arc<TlsServer>>, TlsError> {
    let path = |pem: &Pem| match pem {
        Pem::File(path) => Some(path.clone()),
        Pem::Inline(_) => None,
    };
    let settings = TlsSettings {
        mode: TlsMode::Enforcing,
        cert_path: path(&files.cert),
        key_path: path(&files.key),
        trust_cert_path: path(&files.ca),
        client_auth: ClientAuth::Require,
        test_mode: false,
    };
    TlsServer::with_alpn(&settings, vec![b"h2".to_vec()])
}

/// The TLS connections of `listener`, each handshaken in its own task so a slow client holds
/// up no other; a failed handshake is logged and dropped.
fn tls_incoming(listener: TcpListener, tls: Arc<TlsServer>) -> ReceiverStream<std::io::Result<TlsStream<TcpStream>>> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = tx.closed() => return,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    warn!(error = %e, "gRPC admin accept failed; backing off");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let (tls, tx) = (Arc::clone(&tls), tx.clone());
            tokio::spawn(async move {
                match tls.accept(stream).await {
                    Ok(Accepted::Tls(stream)) => {
                        let _ = tx.send(Ok(*stream)).await;
                    }
                    Ok(Accepted::Plain(_)) => debug!(%peer, "plaintext gRPC admin connection refused"),
                    Err(reason) => debug!(%peer, %reason, "gRPC admin connection refused"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

struct AdminService {
    broker: Arc<Broker>,
}

impl AdminService {
    /// Role changes need an admin: with ACL on, the client certificate's subject CN must be the
    /// access key of an `admin: true` account of `plain_acl.yml`; without ACL, any certificate
    /// the CA signed (or, without TLS, anyone: then remoting admin requests are open too).
    #[allow(clippy::result_large_err)] // tonic's own error type, returned as every handler does
    fn authorize<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let Some(acl) = &self.broker.acl else {
            return Ok(());
        };
        let certs = request.peer_certs().ok_or_else(|| Status::unauthenticated("a client certificate is required"))?;
        let name = certs.first().and_then(|c| common_name(c.as_ref()));
        match name {
            Some(name) if acl.is_admin(&name) => Ok(()),
            Some(name) => Err(Status::permission_denied(format!(
                "certificate CN={name} is not an admin account (admin: true) of the broker's plain_acl.yml"
            ))),
            None => Err(Status::permission_denied("the client certificate has no subject CN")),
        }
    }
}

/// The subject CN of a DER certificate.
fn common_name(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = cert.subject().iter_common_name().next()?.as_str().ok()?.to_owned();
    Some(cn)
}

fn role_name(role: BrokerRole) -> &'static str {
    match role {
        BrokerRole::AsyncMaster => "ASYNC_MASTER",
        BrokerRole::SyncMaster => "SYNC_MASTER",
        BrokerRole::Slave => "SLAVE",
    }
}

#[tonic::async_trait]
impl ReplicationAdmin for AdminService {
    async fn status(&self, _request: Request<StatusRequest>) -> Result<Response<StatusReply>, Status> {
        let broker = &self.broker;
        let replication = &broker.replication;
        let max_offset = broker.store.commit_log_max_offset();
        let gap = replication.config().max_gap_not_in_sync;
        let slaves = if replication.is_slave() {
            Vec::new()
        } else {
            replication
                .slaves()
                .into_iter()
                .map(|s| SlaveStatus {
                    addr: s.addr.to_string(),
                    acked_offset: s.acked,
                    lag_bytes: (max_offset - s.acked).max(0),
                    in_sync: max_offset - s.acked < gap,
                    last_report_ms_ago: u64::try_from(s.reported_at.elapsed().as_millis()).unwrap_or(u64::MAX),
                })
                .collect()
        };
        Ok(Response::new(StatusReply {
            cluster_name: broker.config.cluster_name.clone(),
            broker_name: broker.config.broker_name.clone(),
            broker_id: replication.broker_id(),
            role: role_name(replication.role()).into(),
            epoch: replication.epoch(),
            min_offset: broker.store.commit_log_min_offset(),
            max_offset,
            in_sync_replicas: if replication.is_slave() {
                0
            } else {
                u32::try_from(replication.in_sync_replicas(max_offset)).unwrap_or(u32::MAX)
            },
            slaves,
            receiving: replication.is_receiving(),
            // As registered: the master Service's address for a master that advertises one, so
            // slaves following it (which the NameServer told that address) are not re-pointed.
            addr: broker.namesrv.advertised(replication.broker_id()).to_owned(),
            ha_addr: broker.config.ha_addr(),
            master_addr: if replication.is_slave() {
                replication.master_addr().unwrap_or_default()
            } else {
                String::new()
            },
            epoch_start_offset: replication.epoch_start(),
            fenced: replication.is_fenced(),
            writable: replication.writable().is_ok(),
        }))
    }

    async fn promote(&self, request: Request<PromoteRequest>) -> Result<Response<PromoteReply>, Status> {
        self.authorize(&request)?;
        let PromoteRequest { epoch, min_offset, force } = request.into_inner();
        let broker = &self.broker;
        let have = broker.store.commit_log_max_offset();
        broker.replication.promote(epoch, have, min_offset, force).map_err(|e| match e {
            RoleChangeError::Persist(_) => Status::internal(e.to_string()),
            _ => Status::failed_precondition(e.to_string()),
        })?;
        broker.register_soon();
        Ok(Response::new(PromoteReply {
            epoch: broker.replication.epoch(),
            role: role_name(broker.replication.role()).into(),
            max_offset: have,
        }))
    }

    async fn follow(&self, request: Request<FollowRequest>) -> Result<Response<FollowReply>, Status> {
        self.authorize(&request)?;
        let FollowRequest { epoch, broker_id, master_addr, master_ha_addr, master_start_offset } = request.into_inner();
        if master_addr.is_empty() || master_ha_addr.is_empty() {
            return Err(Status::invalid_argument("master_addr and master_ha_addr are required"));
        }
        let broker = &self.broker;
        let follow = Following { broker_id, ha_addr: master_ha_addr, addr: master_addr };
        let have = broker.store.commit_log_max_offset();
        let outcome = broker.replication.follow(epoch, follow, master_start_offset, have).map_err(|e| match e {
            RoleChangeError::BadBrokerId(_) => Status::invalid_argument(e.to_string()),
            RoleChangeError::Persist(_) => Status::internal(e.to_string()),
            _ => Status::failed_precondition(e.to_string()),
        })?;
        let restarting = outcome == FollowOutcome::Restarting;
        if restarting {
            // Let this answer leave before the listeners close.
            let broker = Arc::clone(&self.broker);
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                broker.request_restart();
            });
        } else {
            broker.register_soon();
        }
        Ok(Response::new(FollowReply { restarting }))
    }

    async fn fence(&self, request: Request<FenceRequest>) -> Result<Response<FenceReply>, Status> {
        self.authorize(&request)?;
        let FenceRequest { epoch } = request.into_inner();
        let broker = &self.broker;
        let replication = &broker.replication;
        replication.fence(epoch).map_err(|e| match e {
            RoleChangeError::Persist(_) => Status::internal(e.to_string()),
            _ => Status::failed_precondition(e.to_string()),
        })?;
        // The CommitLog end reported must be final: let the writes that passed their check
        // before the fence finish their append.
        if !replication.drain_writes(std::time::Duration::from_secs(3)).await {
            warn!(epoch, "writes still appending 3 s after the fence");
        }
        let ago = replication.last_confirm_ago().map_or(u64::MAX, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Ok(Response::new(FenceReply {
            epoch,
            broker_id: replication.broker_id(),
            role: role_name(replication.role()).into(),
            max_offset: broker.store.commit_log_max_offset(),
            last_confirm_ms_ago: ago,
        }))
    }

    async fn confirm_epoch(
        &self,
        request: Request<ConfirmEpochRequest>,
    ) -> Result<Response<ConfirmEpochReply>, Status> {
        let ConfirmEpochRequest { epoch } = request.into_inner();
        let replication = &self.broker.replication;
        let ok = replication.confirm_epoch(epoch);
        Ok(Response::new(ConfirmEpochReply { ok, epoch: replication.epoch() }))
    }
}
