//! `plain_acl.yml`, Apache's ACL 1.0 file, parsed into [`Rules`]: the global address whitelist
//! and the accounts with their secret keys, address whitelists, admin flag, default and
//! per-topic / per-group permissions (`DENY`, `PUB`, `SUB`, `PUB|SUB`).

use std::collections::HashMap;

use serde::Deserialize;

use super::address::AddressPattern;

/// A permission: what an account may do with a topic or group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perm(u8);

impl Perm {
    /// Nothing at all, whatever is needed.
    pub const DENY: Perm = Perm(0);
    /// Publish (send).
    pub const PUB: Perm = Perm(1);
    /// Subscribe (pull, commit offsets, heartbeat as a consumer).
    pub const SUB: Perm = Perm(2);

    /// Whether this grants `needed`.
    pub fn grants(self, needed: Perm) -> bool {
        self.0 & needed.0 == needed.0 && needed.0 != 0
    }

    fn parse(text: &str) -> Result<Perm, String> {
        match text.trim() {
            "DENY" => Ok(Perm::DENY),
            "PUB" => Ok(Perm::PUB),
            "SUB" => Ok(Perm::SUB),
            "PUB|SUB" | "SUB|PUB" => Ok(Perm(Perm::PUB.0 | Perm::SUB.0)),
            other => Err(format!("unknown permission '{other}' (expected DENY, PUB, SUB or PUB|SUB)")),
        }
    }
}

impl std::fmt::Display for Perm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            0 => "DENY",
            1 => "PUB",
            2 => "SUB",
            _ => "PUB|SUB",
        })
    }
}

/// One account.
#[derive(Debug, Clone)]
pub struct Account {
    /// The secret key requests are signed with.
    pub secret_key: String,
    /// Addresses this account is trusted from without a signature (Apache 4.x's
    /// `whiteRemoteAddress`).
    pub white_addresses: Option<AddressPattern>,
    /// Admin accounts may do everything, admin requests included.
    pub admin: bool,
    /// Permission on topics without an entry of their own.
    pub default_topic_perm: Perm,
    /// Permission on groups without an entry of their own.
    pub default_group_perm: Perm,
    /// Per-topic permissions.
    pub topic_perms: HashMap<String, Perm>,
    /// Per-group permissions.
    pub group_perms: HashMap<String, Perm>,
}

/// The whole ACL.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// Addresses trusted for every request, without a signature.
    pub global_white_addresses: Vec<AddressPattern>,
    /// Accounts by access key.
    pub accounts: HashMap<String, Account>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFile {
    #[serde(default)]
    global_white_remote_addresses: Vec<String>,
    #[serde(default)]
    accounts: Vec<RawAccount>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAccount {
    access_key: Option<String>,
    secret_key: Option<String>,
    white_remote_address: Option<String>,
    #[serde(default)]
    admin: bool,
    default_topic_perm: Option<String>,
    default_group_perm: Option<String>,
    #[serde(default)]
    topic_perms: Vec<String>,
    #[serde(default)]
    group_perms: Vec<String>,
}

/// Apache refuses keys of six characters or fewer.
const MIN_KEY_LENGTH: usize = 7;

impl Rules {
    /// Parses the text of a `plain_acl.yml`; the error names the account and entry at fault.
    pub fn parse(yaml: &str) -> Result<Rules, String> {
        let raw: RawFile = if yaml.trim().is_empty() {
            RawFile { global_white_remote_addresses: Vec::new(), accounts: Vec::new() }
        } else {
            serde_yaml::from_str(yaml).map_err(|e| e.to_string())?
        };
        let global_white_addresses = raw
            .global_white_remote_addresses
            .iter()
            .map(|p| AddressPattern::parse(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("globalWhiteRemoteAddresses: {e}"))?;
        let mut accounts = HashMap::new();
        for (i, raw) in raw.accounts.into_iter().enumerate() {
            let access_key = raw.access_key.clone().unwrap_or_default();
            let at = |what: String| format!("accounts[{i}] (accessKey '{access_key}'): {what}");
            let (access_key, account) = raw.into_account().map_err(at)?;
            if accounts.insert(access_key.clone(), account).is_some() {
                return Err(format!("accessKey '{access_key}' is defined twice"));
            }
        }
        Ok(Rules { global_white_addresses, accounts })
    }
}

impl RawAccount {
    fn into_account(self) -> Result<(String, Account), String> {
        let access_key = self.access_key.unwrap_or_default();
        let secret_key = self.secret_key.unwrap_or_default();
        if access_key.chars().count() < MIN_KEY_LENGTH || secret_key.chars().count() < MIN_KEY_LENGTH {
            return Err("accessKey and secretKey must be at least 7 characters".into());
        }
        let white_addresses = match self.white_remote_address.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(pattern) => Some(AddressPattern::parse(pattern).map_err(|e| format!("whiteRemoteAddress: {e}"))?),
        };
        // A missing default is DENY, as in Apache 4.x.
        let default = |perm: Option<String>, key: &str| {
            perm.map_or(Ok(Perm::DENY), |p| Perm::parse(&p).map_err(|e| format!("{key}: {e}")))
        };
        let account = Account {
            secret_key,
            white_addresses,
            admin: self.admin,
            default_topic_perm: default(self.default_topic_perm, "defaultTopicPerm")?,
            default_group_perm: default(self.default_group_perm, "defaultGroupPerm")?,
            topic_perms: parse_entries(&self.topic_perms, "topicPerms")?,
            group_perms: parse_entries(&self.group_perms, "groupPerms")?,
        };
        Ok((access_key, account))
    }
}

/// `name=PERM` lines.
fn parse_entries(lines: &[String], key: &str) -> Result<HashMap<String, Perm>, String> {
    lines
        .iter()
        .map(|line| {
            let (name, perm) = line
                .split_once('=')
                .filter(|(name, _)| !name.trim().is_empty())
                .ok_or_else(|| format!("{key}: '{line}' is not name=PERM"))?;
            let perm = Perm::parse(perm).map_err(|e| format!("{key}: '{line}': {e}"))?;
            Ok((name.trim().to_owned(), perm))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
globalWhiteRemoteAddresses:
  - 10.10.103.*
  - 192.168.0.*
accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    whiteRemoteAddress:
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicA=DENY
      - topicB=PUB|SUB
      - topicC=SUB
    groupPerms:
      - groupA=DENY
      - groupB=PUB|SUB
      - groupC=SUB
  - accessKey: rocketmq2
    secretKey: 12345678
    whiteRemoteAddress: 192.168.1.*
    admin: true
"#;

    #[test]
    fn apaches_sample_file_parses_into_its_accounts_and_permissions() {
        let rules = Rules::parse(SAMPLE).expect("sample parses");
        assert_eq!(rules.global_white_addresses.len(), 2);
        let rocketmq = &rules.accounts["RocketMQ"];
        assert!(!rocketmq.admin && rocketmq.white_addresses.is_none());
        assert_eq!(rocketmq.default_topic_perm, Perm::DENY);
        assert_eq!(rocketmq.default_group_perm, Perm::SUB);
        assert_eq!(rocketmq.topic_perms["topicB"].to_string(), "PUB|SUB");
        assert_eq!(rocketmq.group_perms["groupA"], Perm::DENY);
        let admin = &rules.accounts["rocketmq2"];
        assert!(admin.admin && admin.white_addresses.is_some());
        assert_eq!(admin.default_topic_perm, Perm::DENY, "a missing default is DENY");
    }

    #[test]
    fn deny_grants_nothing_and_pub_sub_grants_both() {
        let both = Perm::parse("SUB|PUB").expect("perm");
        assert!(both.grants(Perm::PUB) && both.grants(Perm::SUB));
        assert!(!Perm::DENY.grants(Perm::PUB) && !Perm::DENY.grants(Perm::SUB));
        assert!(Perm::PUB.grants(Perm::PUB) && !Perm::PUB.grants(Perm::SUB));
    }

    #[test]
    fn an_empty_file_has_no_accounts() {
        assert!(Rules::parse("").expect("empty parses").accounts.is_empty());
    }

    #[test]
    fn mistakes_are_refused_naming_the_account_and_entry() {
        let cases = [
            ("accounts:\n  - accessKey: short\n    secretKey: 12345678\n", "at least 7 characters"),
            ("accounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n    topicPerms: [topicA]\n", "'topicA' is not name=PERM"),
            ("accounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n    defaultTopicPerm: ALL\n", "unknown permission 'ALL'"),
            ("accounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n  - accessKey: RocketMQ\n    secretKey: 87654321\n", "defined twice"),
            ("globalWhiteRemoteAddresses: ['1.2.3.400']\n", "globalWhiteRemoteAddresses"),
            ("accounts: 7\n", "invalid type"),
        ];
        for (yaml, expected) in cases {
            let err = Rules::parse(yaml).expect_err(yaml);
            assert!(err.contains(expected), "{yaml}: {err}");
        }
    }
}
