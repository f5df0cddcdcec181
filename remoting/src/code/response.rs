//! `ResponseCode`: the remoting response codes (Apache RocketMQ 5.3.3 numbering), one table.

macro_rules! response_codes {
    ($( $variant:ident = $num:literal; )*) => {
        /// A remoting response code. Unknown numbers are kept in [`ResponseCode::Unknown`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum ResponseCode {
            $( $variant, )*
            /// A code this table does not know.
            Unknown(i32),
        }

        impl ResponseCode {
            /// The numeric value sent on the wire.
            pub const fn value(self) -> i32 {
                match self {
                    $( ResponseCode::$variant => $num, )*
                    ResponseCode::Unknown(n) => n,
                }
            }

            /// Maps a wire number to a code.
            pub const fn from_value(n: i32) -> ResponseCode {
                match n {
                    $( $num => ResponseCode::$variant, )*
                    other => ResponseCode::Unknown(other),
                }
            }
        }
    };
}

response_codes! {
    Success = 0;
    SystemError = 1;
    SystemBusy = 2;
    RequestCodeNotSupported = 3;
    TransactionFailed = 4;
    FlushDiskTimeout = 10;
    SlaveNotAvailable = 11;
    FlushSlaveTimeout = 12;
    MessageIllegal = 13;
    ServiceNotAvailable = 14;
    VersionNotSupported = 15;
    NoPermission = 16;
    TopicNotExist = 17;
    TopicExistAlready = 18;
    PullNotFound = 19;
    PullRetryImmediately = 20;
    PullOffsetMoved = 21;
    QueryNotFound = 22;
    SubscriptionParseFailed = 23;
    SubscriptionNotExist = 24;
    SubscriptionNotLatest = 25;
    SubscriptionGroupNotExist = 26;
    FilterDataNotExist = 27;
    FilterDataNotLatest = 28;
    InvalidParameter = 29;
    TransactionShouldCommit = 200;
    TransactionShouldRollback = 201;
    TransactionStateUnknow = 202;
    TransactionStateGroupWrong = 203;
    NoBuyerId = 204;
    NotInCurrentUnit = 205;
    ConsumerNotOnline = 206;
    ConsumeMsgTimeout = 207;
    NoMessage = 208;
    PollingFull = 209;
    PollingTimeout = 210;
    BrokerNotExist = 211;
    BrokerDispatchNotComplete = 212;
    BroadcastConsumption = 213;
    FlowControl = 215;
    NotLeaderForQueue = 501;
    IllegalOperation = 604;
    GoAway = 1500;
}

impl From<i32> for ResponseCode {
    fn from(n: i32) -> Self {
        ResponseCode::from_value(n)
    }
}

impl From<ResponseCode> for i32 {
    fn from(c: ResponseCode) -> Self {
        c.value()
    }
}
