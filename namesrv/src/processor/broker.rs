//! Requests brokers send: REGISTER_BROKER (103), UNREGISTER_BROKER (104), QUERY_DATA_VERSION
//! (322), BROKER_HEARTBEAT (904) and GET_BROKER_MEMBER_GROUP (901).

use std::collections::BTreeMap;
use std::time::Duration;

use rmq_remoting::command_header;
use rmq_remoting::protocol::body::{from_json, to_json, DataVersion, KvTable, RegisterBrokerBody};
use rmq_remoting::protocol::namesrv::{
    BrokerIdentityRequest, QueryDataVersionResponse, RegisterBrokerRequest, RegisterBrokerResponse,
};
use rmq_remoting::rpc::Connection;
use rmq_remoting::{RemotingCommand, ResponseCode};
use serde::Serialize;
use tokio::time::Instant;

use super::{compressed, Namesrv, Reply, RequestError};
use crate::kv::ORDER_TOPIC_CONFIG;
use crate::route::{BrokerAddr, Registration};

command_header! {
    /// GET_BROKER_MEMBER_GROUP (901) request header.
    pub struct BrokerMemberGroupRequest {
        cluster_name: String => "clusterName",
        broker_name: String => "brokerName",
    }
}

/// GET_BROKER_MEMBER_GROUP (901) response body (`GetBrokerMemberGroupResponseBody`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MemberGroupBody {
    broker_member_group: MemberGroup,
}

/// `BrokerMemberGroup`: the addresses of one broker group by id.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MemberGroup {
    cluster: String,
    broker_name: String,
    broker_addrs: BTreeMap<i64, String>,
}

/// The masked CRC-32 Apache's `UtilAll.crc32` computes (31 bits, never negative).
pub(super) fn body_crc32(body: &[u8]) -> i32 {
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

impl Namesrv {
    pub(super) fn register_broker(&self, conn: &Connection, request: &RemotingCommand) -> Reply {
        let header: RegisterBrokerRequest = request.header()?;
        if let Some(expected) = header.body_crc32.filter(|crc| *crc != 0) {
            if body_crc32(&request.body) != expected {
                return Err(RequestError::refused(ResponseCode::SystemError, "crc32 not match"));
            }
        }
        let body = if request.body.is_empty() {
            RegisterBrokerBody::default()
        } else if header.compressed.unwrap_or(false) {
            compressed::decode(&request.body).map_err(RequestError::Body)?
        } else {
            from_json::<RegisterBrokerBody>(&request.body).map_err(|e| RequestError::Body(e.to_string()))?
        };
        let config = self.config();
        let timeout = header
            .heartbeat_timeout_millis
            .and_then(|ms| u64::try_from(ms).ok())
            .filter(|ms| *ms > 0)
            .map_or(config.broker_expired_timeout, Duration::from_millis);
        let registered = self.routes.register(
            Registration {
                cluster: header.cluster_name,
                broker_name: header.broker_name,
                broker_addr: header.broker_addr,
                broker_id: header.broker_id,
                ha_server_addr: header.ha_server_addr,
                timeout,
                enable_acting_master: header.enable_acting_master,
                topics: body.topic_config_serialize_wrapper,
                conn: Some(conn.id()),
            },
            Instant::now(),
        );
        let mut response = RemotingCommand::success(request).with_header(&RegisterBrokerResponse {
            ha_server_addr: registered.ha_server_addr,
            master_addr: registered.master_addr,
        });
        if config.return_order_topic_config_to_broker {
            if let Some(table) = self.kv.namespace(ORDER_TOPIC_CONFIG) {
                response = response.with_body(to_json(&KvTable { table }));
            }
        }
        Ok(response)
    }

    pub(super) fn unregister_broker(&self, request: &RemotingCommand) -> Reply {
        let header: BrokerIdentityRequest = request.header()?;
        self.routes.unregister(&BrokerAddr::new(header.cluster_name, header.broker_addr), &header.broker_name);
        Ok(RemotingCommand::success(request))
    }

    pub(super) fn query_data_version(&self, request: &RemotingCommand) -> Reply {
        let header: BrokerIdentityRequest = request.header()?;
        let version = if request.body.is_empty() {
            DataVersion::default()
        } else {
            from_json::<DataVersion>(&request.body).map_err(|e| RequestError::Body(e.to_string()))?
        };
        let key = BrokerAddr::new(header.cluster_name, header.broker_addr);
        let (changed, stored) = self.routes.query_data_version(&key, &version, Instant::now());
        let mut response = RemotingCommand::success(request).with_header(&QueryDataVersionResponse { changed });
        if let Some(stored) = stored {
            response = response.with_body(to_json(&stored));
        }
        Ok(response)
    }

    pub(super) fn broker_heartbeat(&self, request: &RemotingCommand) -> Reply {
        let header: BrokerIdentityRequest = request.header()?;
        self.routes.touch(&BrokerAddr::new(header.cluster_name, header.broker_addr), Instant::now());
        Ok(RemotingCommand::success(request))
    }

    pub(super) fn broker_member_group(&self, request: &RemotingCommand) -> Reply {
        let header: BrokerMemberGroupRequest = request.header()?;
        let broker_addrs = self.routes.broker(&header.broker_name).map(|b| b.broker_addrs).unwrap_or_default();
        let body = MemberGroupBody {
            broker_member_group: MemberGroup {
                cluster: header.cluster_name,
                broker_name: header.broker_name,
                broker_addrs,
            },
        };
        Ok(RemotingCommand::success(request).with_body(to_json(&body)))
    }
}
