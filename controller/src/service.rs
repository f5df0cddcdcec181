//! The controller's gRPC API (`rmq.admin.v1.FailoverController`): the groups as last seen,
//! switchover on request (leader only), and the ping of the leader election.

use std::sync::Arc;

use rmq_admin_api::v1::failover_controller_server::FailoverController;
use rmq_admin_api::v1::{
    GroupState, GroupsReply, GroupsRequest, MemberState, PingReply, PingRequest, SwitchoverReply, SwitchoverRequest,
};
use tonic::{Request, Response, Status};

use crate::group::ControlError;
use crate::member::Role;
use crate::Controller;

/// The gRPC service over a running [`Controller`].
#[derive(Debug, Clone)]
pub struct Service {
    controller: Arc<Controller>,
}

impl Service {
    /// The service of `controller`.
    pub fn new(controller: Arc<Controller>) -> Service {
        Service { controller }
    }
}

fn status_of(error: ControlError) -> Status {
    match error {
        ControlError::UnknownBrokerId(_) => Status::not_found(error.to_string()),
        ControlError::CatchUpTimeout(_) => Status::deadline_exceeded(error.to_string()),
        ControlError::Call(ref e) => Status::unavailable(e.to_string()),
        ControlError::NoMajority { .. } => Status::unavailable(error.to_string()),
        ControlError::NoCandidate | ControlError::NoMaster | ControlError::NotASlave(_) => {
            Status::failed_precondition(error.to_string())
        }
    }
}

#[tonic::async_trait]
impl FailoverController for Service {
    async fn groups(&self, _request: Request<GroupsRequest>) -> Result<Response<GroupsReply>, Status> {
        let groups = self
            .controller
            .groups()
            .iter()
            .map(|group| {
                let view = group.view();
                let members = group
                    .member_addrs()
                    .zip(&view.statuses)
                    .map(|(addr, status)| match status {
                        Some(s) => MemberState {
                            admin_addr: addr.to_owned(),
                            reachable: true,
                            role: if s.role == Role::Slave { "SLAVE" } else { "MASTER" }.into(),
                            broker_id: s.broker_id,
                            epoch: s.epoch,
                            max_offset: s.max_offset,
                        },
                        None => MemberState { admin_addr: addr.to_owned(), ..MemberState::default() },
                    })
                    .collect::<Vec<_>>();
                let master = view.master.and_then(|m| members.get(m)).map(|m| m.admin_addr.clone()).unwrap_or_default();
                let epoch = view.statuses.iter().flatten().map(|s| s.epoch).max().unwrap_or(0);
                GroupState { name: group.name.clone(), epoch, master, members, failovers: view.failovers }
            })
            .collect();
        Ok(Response::new(GroupsReply { groups, leader: self.controller.is_leader() }))
    }

    async fn switchover(&self, request: Request<SwitchoverRequest>) -> Result<Response<SwitchoverReply>, Status> {
        let SwitchoverRequest { group, broker_id } = request.into_inner();
        if !self.controller.is_leader() {
            return Err(Status::failed_precondition("this controller replica is not the leader; ask the leader"));
        }
        let target = match broker_id {
            -1 => None,
            id if id > 0 => Some(id),
            id => return Err(Status::invalid_argument(format!("BrokerId {id}: give a slave's id (> 0) or -1"))),
        };
        let found = self.controller.groups().iter().find(|g| g.name == group).cloned();
        let group = found.ok_or_else(|| Status::not_found(format!("no group '{group}' is watched")))?;
        let (epoch, master) = group.switchover(self.controller.config(), target).await.map_err(status_of)?;
        Ok(Response::new(SwitchoverReply { epoch, master }))
    }

    async fn ping(&self, _request: Request<PingRequest>) -> Result<Response<PingReply>, Status> {
        Ok(Response::new(PingReply { id: self.controller.election().id() }))
    }
}
