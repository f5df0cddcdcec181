//! Request and response codes: one table each, generated into `#[repr(i32)]`-style enums with
//! an `Unknown` fallback so a code from the wire always maps to a value.

mod request;
mod response;

pub use request::{RequestCode, RequestFamily};
pub use response::ResponseCode;
