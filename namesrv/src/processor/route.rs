//! Route queries and topic administration: GET_ROUTEINFO_BY_TOPIC (105),
//! GET_BROKER_CLUSTER_INFO (106), the topic lists (206, 224, 304, 311–313),
//! DELETE_TOPIC_IN_NAMESRV (216), REGISTER_TOPIC_IN_NAMESRV (217) and the write-permission
//! switches (205, 327).

use rmq_remoting::command_header;
use rmq_remoting::protocol::body::{from_json, to_json, TopicList, TopicRouteData};
use rmq_remoting::protocol::namesrv::{
    AddWritePermResponse, BrokerNameRequest, ClusterRequest, DeleteTopicFromNamesrvRequest, GetRouteInfoRequest,
    WipeWritePermResponse,
};
use rmq_remoting::{RemotingCommand, ResponseCode};
use tracing::info;

use super::{Namesrv, Reply, RequestError};
use crate::kv::ORDER_TOPIC_CONFIG;
use crate::route::UnitFilter;

command_header! {
    /// REGISTER_TOPIC_IN_NAMESRV (217) request header.
    pub struct RegisterTopicRequest { topic: String => "topic" }
}

fn topic_list(request: &RemotingCommand, topics: Vec<String>) -> RemotingCommand {
    RemotingCommand::success(request).with_body(to_json(&TopicList { topic_list: topics, broker_addr: None }))
}

impl Namesrv {
    pub(super) fn route_by_topic(&self, request: &RemotingCommand) -> Reply {
        let header: GetRouteInfoRequest = request.header()?;
        let Some(mut route) = self.routes.topic_route(&header.topic) else {
            return Err(RequestError::refused(
                ResponseCode::TopicNotExist,
                format!("No topic route info in name server for the topic: {}", header.topic),
            ));
        };
        if self.config().order_message_enable {
            route.order_topic_conf = self.kv.get(ORDER_TOPIC_CONFIG, &header.topic);
        }
        // Always standard JSON (quoted brokerAddrs keys): every Java client version parses it.
        Ok(RemotingCommand::success(request).with_body(to_json(&route)))
    }

    pub(super) fn cluster_info(&self, request: &RemotingCommand) -> Reply {
        Ok(RemotingCommand::success(request).with_body(to_json(&self.routes.cluster_info())))
    }

    pub(super) fn all_topics(&self, request: &RemotingCommand) -> Reply {
        if !self.config().enable_all_topic_list {
            return Err(RequestError::refused(ResponseCode::SystemError, "disable"));
        }
        Ok(topic_list(request, self.routes.all_topics()))
    }

    pub(super) fn topics_by_cluster(&self, request: &RemotingCommand) -> Reply {
        if !self.config().enable_topic_list {
            return Err(RequestError::refused(ResponseCode::SystemError, "disable"));
        }
        let header: ClusterRequest = request.header()?;
        Ok(topic_list(request, self.routes.topics_of_cluster(&header.cluster)))
    }

    pub(super) fn system_topics(&self, request: &RemotingCommand) -> Reply {
        Ok(RemotingCommand::success(request).with_body(to_json(&self.routes.system_topics())))
    }

    pub(super) fn unit_topics(&self, request: &RemotingCommand, filter: UnitFilter) -> Reply {
        Ok(topic_list(request, self.routes.unit_topics(filter)))
    }

    pub(super) fn delete_topic(&self, request: &RemotingCommand) -> Reply {
        let header: DeleteTopicFromNamesrvRequest = request.header()?;
        let cluster = header.cluster_name.as_deref().filter(|c| !c.is_empty());
        if self.routes.delete_topic(&header.topic, cluster) {
            info!(topic = %header.topic, cluster = cluster.unwrap_or("*"), "topic deleted");
        }
        Ok(RemotingCommand::success(request))
    }

    pub(super) fn register_topic(&self, request: &RemotingCommand) -> Reply {
        let header: RegisterTopicRequest = request.header()?;
        if request.body.is_empty() {
            return Ok(RemotingCommand::success(request));
        }
        let body: TopicRouteData = from_json(&request.body).map_err(|e| RequestError::Body(e.to_string()))?;
        self.routes
            .register_topic(&header.topic, body.queue_datas)
            .map_err(|e| RequestError::refused(ResponseCode::SystemError, e.to_string()))?;
        Ok(RemotingCommand::success(request))
    }

    pub(super) fn set_write_perm(&self, request: &RemotingCommand, writable: bool) -> Reply {
        let header: BrokerNameRequest = request.header()?;
        let count = self.routes.set_write_perm(&header.broker_name, writable);
        info!(broker = %header.broker_name, writable, topics = count, "write permission changed");
        let response = RemotingCommand::success(request);
        Ok(if writable {
            response.with_header(&AddWritePermResponse { add_topic_count: count })
        } else {
            response.with_header(&WipeWritePermResponse { wipe_topic_count: count })
        })
    }
}
