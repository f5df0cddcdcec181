//! The admin API's error: a client error, or a lookup that found nothing. [`AdminError::kind`]
//! sorts every failure into the few classes a tool reacts to (the `rmqadmin` exit codes).

use rmq_remoting::ResponseCode;

use crate::error::ClientError;

/// Errors returned by [`Admin`](super::Admin).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A request failed (unreachable peer, refused request, bad answer, bad configuration).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The thing looked up does not exist: a cluster, topic, group or message.
    #[error("{0}")]
    NotFound(String),
}

/// Shorthand result type of the admin API.
pub type AdminResult<T> = std::result::Result<T, AdminError>;

/// What kind of failure an [`AdminError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The arguments or configuration are unusable (no NameServer address, bad name, …).
    Invalid,
    /// A server answered that the topic, group or message does not exist.
    NotFound,
    /// No NameServer or broker could be reached in time.
    Unreachable,
    /// A server refused the request or answered something unexpected.
    Refused,
}

impl AdminError {
    /// Classifies the error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AdminError::NotFound(_) => ErrorKind::NotFound,
            AdminError::Client(e) => client_error_kind(e),
        }
    }

    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        AdminError::NotFound(what.into())
    }
}

fn client_error_kind(e: &ClientError) -> ErrorKind {
    match e {
        ClientError::Config(_) | ClientError::InvalidMessage(_) | ClientError::MessageTooLarge { .. } => {
            ErrorKind::Invalid
        }
        ClientError::TopicNotFound(_) => ErrorKind::NotFound,
        ClientError::Broker { code, .. } if is_not_found(*code) => ErrorKind::NotFound,
        ClientError::NameServerUnreachable { .. } => ErrorKind::Unreachable,
        ClientError::Remoting(r) => match r {
            rmq_remoting::Error::Connect { .. }
            | rmq_remoting::Error::Timeout { .. }
            | rmq_remoting::Error::ConnectionClosed(_)
            | rmq_remoting::Error::Io(_) => ErrorKind::Unreachable,
            rmq_remoting::Error::FrameTooLarge { .. } | rmq_remoting::Error::Malformed(_) => ErrorKind::Refused,
        },
        ClientError::Broker { .. }
        | ClientError::Protocol { .. }
        | ClientError::RequestTimeout { .. }
        | ClientError::Shutdown => ErrorKind::Refused,
    }
}

/// Response codes that mean "no such topic, group or message".
pub(crate) fn is_not_found(code: ResponseCode) -> bool {
    matches!(
        code,
        ResponseCode::TopicNotExist
            | ResponseCode::QueryNotFound
            | ResponseCode::NoMessage
            | ResponseCode::ConsumerNotOnline
            | ResponseCode::SubscriptionGroupNotExist
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(code: ResponseCode) -> AdminError {
        AdminError::Client(ClientError::Broker { addr: "b:1".into(), code, remark: String::new() })
    }

    #[test]
    fn errors_fall_into_the_exit_code_classes() {
        assert_eq!(broker(ResponseCode::TopicNotExist).kind(), ErrorKind::NotFound);
        assert_eq!(broker(ResponseCode::ConsumerNotOnline).kind(), ErrorKind::NotFound);
        assert_eq!(broker(ResponseCode::SystemError).kind(), ErrorKind::Refused);
        assert_eq!(AdminError::not_found("message X").kind(), ErrorKind::NotFound);
        let timeout = rmq_remoting::Error::Timeout { addr: "a:1".into(), millis: 5 };
        assert_eq!(AdminError::Client(ClientError::Remoting(timeout)).kind(), ErrorKind::Unreachable);
        let unreachable = ClientError::NameServerUnreachable { addrs: "a:1".into(), last_error: "refused".into() };
        assert_eq!(AdminError::Client(unreachable).kind(), ErrorKind::Unreachable);
        assert_eq!(AdminError::Client(ClientError::Config("no address".into())).kind(), ErrorKind::Invalid);
    }
}
