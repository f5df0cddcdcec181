//! The client's error type: every failure a caller can act on has its own variant.

use rmq_remoting::ResponseCode;

/// Errors returned by producers, consumers and the admin API.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The configuration is unusable (no NameServer address, bad group or topic name, …).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A message was refused before it was sent.
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    /// The body is larger than the producer's `max_message_size`.
    #[error("message body of {size} bytes is over the limit of {max} bytes")]
    MessageTooLarge {
        /// Body size.
        size: usize,
        /// Configured maximum.
        max: usize,
    },
    /// No NameServer knows the topic and it cannot be auto-created.
    #[error("no route info for topic {0}: it does not exist (create it, or enable autoCreateTopicEnable)")]
    TopicNotFound(String),
    /// None of the NameServers answered.
    #[error("no NameServer reachable ({addrs}): {last_error}")]
    NameServerUnreachable {
        /// The addresses tried.
        addrs: String,
        /// The last failure.
        last_error: String,
    },
    /// The broker (or NameServer) answered with an error code.
    #[error("{addr} answered {code:?} ({}): {remark}", i32::from(*code))]
    Broker {
        /// Who answered.
        addr: String,
        /// The response code.
        code: ResponseCode,
        /// The server's remark.
        remark: String,
    },
    /// Talking to a peer failed (connect, timeout, closed connection).
    #[error(transparent)]
    Remoting(#[from] rmq_remoting::Error),
    /// A response did not have the expected shape.
    #[error("unexpected response from {addr}: {reason}")]
    Protocol {
        /// Who answered.
        addr: String,
        /// What was wrong.
        reason: String,
    },
    /// A request ([`crate::Producer::request`]) got no reply in time.
    #[error("no reply to the request on topic {topic} within {timeout:?}")]
    RequestTimeout {
        /// The request's topic.
        topic: String,
        /// The timeout given.
        timeout: std::time::Duration,
    },
    /// The producer or consumer has been shut down.
    #[error("the client has been shut down")]
    Shutdown,
}

impl ClientError {
    /// The response code of a [`ClientError::Broker`] error.
    pub fn response_code(&self) -> Option<ResponseCode> {
        match self {
            ClientError::Broker { code, .. } => Some(*code),
            _ => None,
        }
    }

    pub(crate) fn protocol(addr: &str, reason: impl std::fmt::Display) -> Self {
        ClientError::Protocol { addr: addr.to_owned(), reason: reason.to_string() }
    }
}

/// Shorthand result type of this crate.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
