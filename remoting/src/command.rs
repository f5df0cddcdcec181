//! `RemotingCommand`: the unit exchanged on a connection (code, language, version, opaque,
//! flag, remark, extFields, body), and constructors for requests and responses.

use std::sync::atomic::{AtomicI32, Ordering};

use bytes::Bytes;

use crate::code::{RequestCode, ResponseCode};
pub use crate::ext_fields::ExtFields;

/// Flag bit 0: the command is a response.
pub const FLAG_RESPONSE: i32 = 0x1;
/// Flag bit 1: the request is one-way; the receiver must not answer.
pub const FLAG_ONEWAY: i32 = 0x2;

/// The `version` we put in every command: the ordinal of Apache RocketMQ V5_3_3.
pub const CURRENT_VERSION: i32 = 479;

static NEXT_OPAQUE: AtomicI32 = AtomicI32::new(1);

/// Returns a fresh request id.
pub fn next_opaque() -> i32 {
    NEXT_OPAQUE.fetch_add(1, Ordering::Relaxed)
}

/// The two header serializations, selected by the high byte of the frame's second word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SerializeType {
    /// fastjson-style JSON text (type byte 0).
    #[default]
    Json,
    /// The compact ROCKETMQ binary header (type byte 1).
    RocketMq,
}

impl SerializeType {
    /// The type byte on the wire.
    pub fn byte(self) -> u8 {
        match self {
            SerializeType::Json => 0,
            SerializeType::RocketMq => 1,
        }
    }

    /// Parses the type byte; `None` for unknown values.
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(SerializeType::Json),
            1 => Some(SerializeType::RocketMq),
            _ => None,
        }
    }
}

macro_rules! languages {
    ($( $variant:ident = $num:literal, $name:literal; )*) => {
        /// The sender's implementation language (`LanguageCode`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        #[allow(missing_docs)]
        pub enum LanguageCode {
            #[default]
            $( $variant, )*
            /// A language this table does not know.
            Unknown,
        }

        impl LanguageCode {
            /// Numeric code used by the binary header.
            pub fn code(self) -> u8 {
                match self { $( LanguageCode::$variant => $num, )* LanguageCode::Unknown => 7 }
            }
            /// Parses the binary code.
            pub fn from_code(n: u8) -> Self {
                match n { $( $num => LanguageCode::$variant, )* _ => LanguageCode::Unknown }
            }
            /// Enum name used by the JSON header.
            pub fn name(self) -> &'static str {
                match self { $( LanguageCode::$variant => $name, )* LanguageCode::Unknown => "OTHER" }
            }
            /// Parses the JSON name.
            pub fn from_name(s: &str) -> Self {
                match s { $( $name => LanguageCode::$variant, )* _ => LanguageCode::Unknown }
            }
        }
    };
}

languages! {
    Java = 0, "JAVA";
    Cpp = 1, "CPP";
    Dotnet = 2, "DOTNET";
    Python = 3, "PYTHON";
    Delphi = 4, "DELPHI";
    Erlang = 5, "ERLANG";
    Ruby = 6, "RUBY";
    Other = 7, "OTHER";
    Http = 8, "HTTP";
    Go = 9, "GO";
    Php = 10, "PHP";
    Oms = 11, "OMS";
    Rust = 12, "RUST";
    NodeJs = 13, "NODE_JS";
}

/// One remoting command, request or response.
#[derive(Debug, Clone, PartialEq)]
pub struct RemotingCommand {
    /// Request code (requests) or response code (responses).
    pub code: i32,
    /// Sender language.
    pub language: LanguageCode,
    /// Sender version ordinal.
    pub version: i32,
    /// Request id; a response echoes its request's.
    pub opaque: i32,
    /// Bit flags ([`FLAG_RESPONSE`], [`FLAG_ONEWAY`]).
    pub flag: i32,
    /// Human-readable text, usually an error description.
    pub remark: Option<String>,
    /// Custom header fields.
    pub ext_fields: ExtFields,
    /// Payload; empty means "no body".
    pub body: Bytes,
    /// Header serialization this command arrived in, or will be sent in.
    pub serialize_type: SerializeType,
}

impl RemotingCommand {
    /// A new request with a fresh opaque.
    pub fn request(code: RequestCode) -> Self {
        RemotingCommand {
            code: code.value(),
            language: LanguageCode::Rust,
            version: CURRENT_VERSION,
            opaque: next_opaque(),
            flag: 0,
            remark: None,
            ext_fields: ExtFields::new(),
            body: Bytes::new(),
            serialize_type: SerializeType::Json,
        }
    }

    /// A response to `request` (same opaque and serialization) with the given code and remark.
    pub fn response_to(request: &RemotingCommand, code: ResponseCode, remark: impl Into<Option<String>>) -> Self {
        RemotingCommand {
            code: code.value(),
            language: LanguageCode::Java,
            version: CURRENT_VERSION,
            opaque: request.opaque,
            flag: FLAG_RESPONSE,
            remark: remark.into(),
            ext_fields: ExtFields::new(),
            body: Bytes::new(),
            serialize_type: request.serialize_type,
        }
    }

    /// A success response to `request`.
    pub fn success(request: &RemotingCommand) -> Self {
        Self::response_to(request, ResponseCode::Success, None)
    }

    /// An error response to `request`.
    pub fn error(request: &RemotingCommand, code: ResponseCode, remark: impl Into<String>) -> Self {
        Self::response_to(request, code, Some(remark.into()))
    }

    /// The request code of a request.
    pub fn request_code(&self) -> RequestCode {
        RequestCode::from_value(self.code)
    }

    /// The response code of a response.
    pub fn response_code(&self) -> ResponseCode {
        ResponseCode::from_value(self.code)
    }

    /// Whether this command is a response.
    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    /// Whether this request is one-way.
    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    /// Marks this request one-way.
    pub fn into_oneway(mut self) -> Self {
        self.flag |= FLAG_ONEWAY;
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets the remark.
    pub fn with_remark(mut self, remark: impl Into<String>) -> Self {
        self.remark = Some(remark.into());
        self
    }

    /// Copies a typed header into the ext fields.
    pub fn with_header<H: crate::protocol::CommandHeader>(mut self, header: &H) -> Self {
        header.encode(&mut self.ext_fields);
        self
    }

    /// Decodes a typed header from the ext fields.
    pub fn header<H: crate::protocol::CommandHeader>(&self) -> Result<H, crate::protocol::HeaderError> {
        H::decode(&self.ext_fields)
    }

    /// One ext field by key.
    pub fn ext(&self, key: &str) -> Option<&str> {
        self.ext_fields.get(key)
    }
}
