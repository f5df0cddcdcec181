//! UPDATE_NAMESRV_CONFIG (318) and GET_NAMESRV_CONFIG (319): the configuration as properties
//! text. Updates apply in memory (listen address and KV path changes need a restart) and are
//! not written back to the config file.

use rmq_remoting::config::Properties;
use rmq_remoting::{RemotingCommand, ResponseCode};
use tracing::info;

use super::{Namesrv, Reply, RequestError};
use crate::config::{log_unused_keys, UPDATE_BLACKLIST};

impl Namesrv {
    pub(super) fn update_config(&self, request: &RemotingCommand) -> Reply {
        if request.body.is_empty() {
            return Ok(RemotingCommand::success(request));
        }
        let text = std::str::from_utf8(&request.body)
            .map_err(|_| RequestError::Body("the config body is not UTF-8 text".into()))?;
        let mut props = Properties::parse(text).map_err(|e| RequestError::Body(e.to_string()))?;
        if props.iter().any(|(key, _)| UPDATE_BLACKLIST.contains(&key.as_str())) {
            return Err(RequestError::refused(ResponseCode::NoPermission, "Can not update config in black list."));
        }
        let mut config = self.config.write().unwrap_or_else(|e| e.into_inner());
        config.apply(&mut props).map_err(|e| RequestError::refused(ResponseCode::SystemError, e.to_string()))?;
        log_unused_keys(&props);
        info!(peer_update = %text.trim().replace('\n', ", "), "namesrv config updated");
        Ok(RemotingCommand::success(request))
    }

    pub(super) fn get_config(&self, request: &RemotingCommand) -> Reply {
        Ok(RemotingCommand::success(request).with_body(self.config().to_properties_text()))
    }
}
