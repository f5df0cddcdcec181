//! ACL request signing, as Apache's `AclClientRPCHook` does it: the client adds `AccessKey` (and
//! `SecurityToken`) to the ext fields, then `Signature` = Base64(HmacSHA1(secret key, the values
//! of every other ext field in key order, then the body)). The broker recomputes it with the
//! account's secret key and compares in constant time. Shared by the client (signs) and the
//! broker (verifies), so both sides agree byte for byte.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::command::{ExtFields, RemotingCommand};

/// Ext field naming the account.
pub const ACCESS_KEY: &str = "AccessKey";
/// Ext field carrying the signature.
pub const SIGNATURE: &str = "Signature";
/// Ext field carrying an optional security token (signed like every other field).
pub const SECURITY_TOKEN: &str = "SecurityToken";
/// Ext field a Java client adds to unique-key queries; servers ignore it when verifying requests
/// of version ≤ 399 (Apache 4.x clients add it after signing).
pub const UNIQUE_KEY_QUERY: &str = "_UNIQUE_KEY_QUERY";

/// The last request version whose `_UNIQUE_KEY_QUERY` field is not signed.
const UNSIGNED_UNIQUE_KEY_QUERY_MAX_VERSION: i32 = 399;

type HmacSha1 = Hmac<Sha1>;

/// An account's access key and secret key (and optional security token), as the Java client's
/// `SessionCredentials`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The account name sent in every request.
    pub access_key: String,
    secret_key: String,
    /// Sent as `SecurityToken` when set.
    pub security_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("security_token", &self.security_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Credentials {
    /// Credentials of the account `access_key`.
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Credentials { access_key: access_key.into(), secret_key: secret_key.into(), security_token: None }
    }

    /// The same credentials with a security token.
    pub fn with_security_token(mut self, token: impl Into<String>) -> Self {
        self.security_token = Some(token.into());
        self
    }

    /// Adds `AccessKey`, `SecurityToken` and `Signature` to `command` (whose custom header must
    /// already be in its ext fields).
    pub fn sign(&self, command: &mut RemotingCommand) {
        command.ext_fields.insert(ACCESS_KEY, self.access_key.clone());
        if let Some(token) = &self.security_token {
            command.ext_fields.insert(SECURITY_TOKEN, token.clone());
        }
        command.ext_fields.remove(SIGNATURE);
        let signature = signature(&self.secret_key, &command.ext_fields, &command.body, |_| false);
        command.ext_fields.insert(SIGNATURE, signature);
    }
}

/// Whether `command`'s `Signature` is the one `secret_key` gives its fields and body. Compared
/// in constant time.
pub fn verify(command: &RemotingCommand, secret_key: &str) -> bool {
    let Some(sent) = command.ext_fields.get(SIGNATURE) else {
        return false;
    };
    let Ok(sent) = base64::engine::general_purpose::STANDARD.decode(sent) else {
        return false;
    };
    let skip_unique_key_query = command.version <= UNSIGNED_UNIQUE_KEY_QUERY_MAX_VERSION;
    let mac =
        mac(secret_key, &command.ext_fields, &command.body, |key| skip_unique_key_query && key == UNIQUE_KEY_QUERY);
    mac.verify_slice(&sent).is_ok()
}

/// Base64(HmacSHA1(`secret_key`, the values of `fields` in key order except `Signature` and those
/// `skip` names, then `body`)).
pub fn signature(secret_key: &str, fields: &ExtFields, body: &[u8], skip: impl Fn(&str) -> bool) -> String {
    let bytes = mac(secret_key, fields, body, skip).finalize().into_bytes();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn mac(secret_key: &str, fields: &ExtFields, body: &[u8], skip: impl Fn(&str) -> bool) -> HmacSha1 {
    // Java sorts the keys in a TreeMap (UTF-16 code-unit order). For keys below U+10000 that is
    // the order of their UTF-8 bytes, which is how `str` compares; header keys are ASCII.
    let mut signed: Vec<(&str, &str)> = fields.iter().filter(|(k, _)| *k != SIGNATURE && !skip(k)).collect();
    signed.sort_unstable_by_key(|(k, _)| *k);
    let mut mac = HmacSha1::new_from_slice(secret_key.as_bytes()).expect("HMAC takes keys of any length");
    for (_, value) in signed {
        mac.update(value.as_bytes());
    }
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RequestCode;

    fn request() -> RemotingCommand {
        let mut cmd = RemotingCommand::request(RequestCode::SendMessageV2);
        cmd.ext_fields.insert("a", "TopicTest");
        cmd.ext_fields.insert("b", "pg");
        cmd.body = bytes::Bytes::from_static(b"hello");
        cmd
    }

    #[test]
    fn signature_matches_the_java_hook_for_known_input() {
        // Java: AclUtils.combineRequestContent over {AccessKey=ak, a=TopicTest, b=pg} → "akTopicTestpg",
        // then the body; Base64(HmacSHA1("sk", "akTopicTestpghello")), computed with
        // `printf 'akTopicTestpghello' | openssl dgst -sha1 -hmac sk -binary | base64`.
        let mut cmd = request();
        Credentials::new("ak", "sk").sign(&mut cmd);
        assert_eq!(cmd.ext_fields.get(ACCESS_KEY).expect("signed"), "ak");
        assert_eq!(cmd.ext_fields.get(SIGNATURE).expect("signed"), "2/QoNKy/qT7iTp8cWL9LWlpwKgA=");
    }

    #[test]
    fn a_signed_request_verifies_with_the_same_secret_only() {
        let mut cmd = request();
        Credentials::new("ak", "sk").sign(&mut cmd);
        assert!(verify(&cmd, "sk"));
        assert!(!verify(&cmd, "other"));
    }

    #[test]
    fn changing_a_field_or_the_body_breaks_the_signature() {
        let mut cmd = request();
        Credentials::new("ak", "sk").with_security_token("tok").sign(&mut cmd);
        let mut tampered = cmd.clone();
        tampered.ext_fields.insert("a", "OtherTopic");
        assert!(!verify(&tampered, "sk"));
        let mut tampered = cmd.clone();
        tampered.body = bytes::Bytes::from_static(b"hellO");
        assert!(!verify(&tampered, "sk"));
        let mut tampered = cmd;
        tampered.ext_fields.remove(SECURITY_TOKEN);
        assert!(!verify(&tampered, "sk"));
    }

    #[test]
    fn unique_key_query_is_unsigned_only_for_old_request_versions() {
        let mut cmd = request();
        Credentials::new("ak", "sk").sign(&mut cmd);
        cmd.ext_fields.insert(UNIQUE_KEY_QUERY, "true");
        cmd.version = 399;
        assert!(verify(&cmd, "sk"));
        cmd.version = 400;
        assert!(!verify(&cmd, "sk"));
    }

    #[test]
    fn a_missing_or_malformed_signature_does_not_verify() {
        let mut cmd = request();
        assert!(!verify(&cmd, "sk"));
        cmd.ext_fields.insert(SIGNATURE, "not base64 !!");
        assert!(!verify(&cmd, "sk"));
    }
}
