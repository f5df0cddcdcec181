//! Request and response codes: one table each, generated into `#[repr(i32)]`-style enums with
//! an `Unknown` fallback so a code from the wire always maps to a value.

mod request;
mod response;

pub use request::{RequestCode, RequestFamily};
pub use response::ResponseCode;

/// Apache's name of a code, as its metrics label it: the Java constant in lower case
/// (`{:?}` of `SendMessageV2` → `send_message_v2`, `QueryNotFound` → `query_not_found`).
pub fn apache_name(code: impl std::fmt::Debug) -> String {
    let camel = format!("{code:?}");
    let mut out = String::with_capacity(camel.len() + 8);
    let mut prev: Option<char> = None;
    for c in camel.chars() {
        if c.is_ascii_uppercase() && prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit()) {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
        prev = Some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apache_names_are_the_java_constants_in_lower_case() {
        assert_eq!(apache_name(RequestCode::SendMessageV2), "send_message_v2");
        assert_eq!(apache_name(RequestCode::HeartBeat), "heart_beat");
        assert_eq!(apache_name(RequestCode::UpdateAndCreateSubscriptiongroup), "update_and_create_subscriptiongroup");
        assert_eq!(apache_name(ResponseCode::QueryNotFound), "query_not_found");
    }
}
