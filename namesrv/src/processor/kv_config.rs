//! KV config requests: PUT_KV_CONFIG (100), GET_KV_CONFIG (101), DELETE_KV_CONFIG (102) and
//! GET_KVLIST_BY_NAMESPACE (219). Writes persist before they are acknowledged.

use rmq_remoting::protocol::body::{to_json, KvTable};
use rmq_remoting::protocol::namesrv::{GetKvConfigResponse, KvKeyRequest, KvNamespaceRequest, PutKvConfigRequest};
use rmq_remoting::{RemotingCommand, ResponseCode};

use super::{Namesrv, Reply, RequestError};

impl Namesrv {
    pub(super) async fn put_kv(&self, request: &RemotingCommand) -> Reply {
        let header: PutKvConfigRequest = request.header()?;
        self.with_kv(move |kv| kv.put(&header.namespace, &header.key, &header.value)).await?;
        Ok(RemotingCommand::success(request))
    }

    pub(super) fn get_kv(&self, request: &RemotingCommand) -> Reply {
        let header: KvKeyRequest = request.header()?;
        match self.kv.get(&header.namespace, &header.key) {
            Some(value) => {
                Ok(RemotingCommand::success(request).with_header(&GetKvConfigResponse { value: Some(value) }))
            }
            None => Err(RequestError::refused(
                ResponseCode::QueryNotFound,
                format!("No config item, Namespace: {} Key: {}", header.namespace, header.key),
            )),
        }
    }

    pub(super) async fn delete_kv(&self, request: &RemotingCommand) -> Reply {
        let header: KvKeyRequest = request.header()?;
        self.with_kv(move |kv| kv.delete(&header.namespace, &header.key)).await?;
        Ok(RemotingCommand::success(request))
    }

    pub(super) fn kv_namespace(&self, request: &RemotingCommand) -> Reply {
        let header: KvNamespaceRequest = request.header()?;
        match self.kv.namespace(&header.namespace) {
            Some(table) => Ok(RemotingCommand::success(request).with_body(to_json(&KvTable { table }))),
            None => Err(RequestError::refused(
                ResponseCode::QueryNotFound,
                format!("No config item, Namespace: {}", header.namespace),
            )),
        }
    }
}
