//! rmq-client: the async Rust producer/consumer SDK and `rmqadmin` CLI.
//!
//! Not built yet (it has its own issue). The wire protocol it will use lives in `rmq-remoting`;
//! the broker's integration tests already drive servers with `rmq_remoting::rpc::RemotingClient`.
