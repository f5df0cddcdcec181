//! Message ids: the offset id (store host + CommitLog offset) and the client `UNIQ_KEY`.
//!
//! Both are uppercase hex, 32 characters for IPv4 (56 for IPv6), so they can only be told apart
//! by trying to decode an id as an offset id.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Why a string is not an offset message id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageIdError {
    /// Neither 32 (IPv4) nor 56 (IPv6) characters.
    #[error("message id has {0} characters, expected 32 or 56")]
    BadLength(usize),
    /// A character is not a hex digit.
    #[error("message id is not hex")]
    NotHex,
    /// The embedded port is outside 0..=65535.
    #[error("message id port {0} out of range")]
    BadPort(i32),
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn push_hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xF)]));
    }
}

fn ip_octets(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

fn hex_value(c: u8) -> Result<u8, MessageIdError> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(MessageIdError::NotHex),
    }
}

/// The offset message id: uppercase hex of `store IP (4|16) ‖ port i32 ‖ commitLogOffset i64`.
pub fn create_offset_msg_id(store_host: SocketAddr, commit_log_offset: i64) -> String {
    let mut bytes = ip_octets(store_host.ip());
    bytes.extend_from_slice(&i32::from(store_host.port()).to_be_bytes());
    bytes.extend_from_slice(&commit_log_offset.to_be_bytes());
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, &bytes);
    out
}

/// Decodes an offset message id into the store host and CommitLog offset (32 characters means an
/// IPv4 host, 56 an IPv6 one; hex case is ignored).
pub fn decode_offset_msg_id(id: &str) -> Result<(SocketAddr, i64), MessageIdError> {
    let ip_len = match id.len() {
        32 => 4,
        56 => 16,
        n => return Err(MessageIdError::BadLength(n)),
    };
    let bytes = id
        .as_bytes()
        .chunks_exact(2)
        .map(|pair| Ok(hex_value(pair[0])? << 4 | hex_value(pair[1])?))
        .collect::<Result<Vec<u8>, _>>()?;
    let (ip_bytes, rest) = bytes.split_at(ip_len);
    let ip = match <[u8; 4]>::try_from(ip_bytes) {
        Ok(v4) => IpAddr::V4(Ipv4Addr::from(v4)),
        Err(_) => {
            let mut v6 = [0u8; 16];
            v6.copy_from_slice(ip_bytes);
            IpAddr::V6(Ipv6Addr::from(v6))
        }
    };
    let mut port = [0u8; 4];
    port.copy_from_slice(&rest[..4]);
    let port = i32::from_be_bytes(port);
    let port = u16::try_from(port).map_err(|_| MessageIdError::BadPort(port))?;
    let mut offset = [0u8; 8];
    offset.copy_from_slice(&rest[4..12]);
    Ok((SocketAddr::new(ip, port), i64::from_be_bytes(offset)))
}

/// Generates client message ids (`UNIQ_KEY`) like Apache `MessageClientIDSetter`:
/// hex of `IP (4|16) ‖ pid i16 ‖ random i32 ‖ ms since start of month i32 ‖ counter i16`.
///
/// The i32 Java fills with a class-loader hash is random here. The month starts in UTC (Java
/// uses the local time zone); the broker treats the id as opaque, so only uniqueness matters.
#[derive(Debug)]
pub struct UniqIdGenerator {
    prefix: String,
    counter: AtomicU16,
}

impl UniqIdGenerator {
    /// A generator for a client at `ip`.
    pub fn new(ip: IpAddr) -> UniqIdGenerator {
        let mut fixed = ip_octets(ip);
        fixed.extend_from_slice(&(std::process::id() as u16).to_be_bytes());
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u128(now_ms().unsigned_abs().into());
        fixed.extend_from_slice(&(hasher.finish() as u32).to_be_bytes());
        let mut prefix = String::with_capacity(fixed.len() * 2 + 12);
        push_hex(&mut prefix, &fixed);
        UniqIdGenerator { prefix, counter: AtomicU16::new(0) }
    }

    /// The next id; unique per generator for 65536 calls within the same millisecond.
    pub fn next(&self) -> String {
        let now = now_ms();
        let since_month = (now - start_of_month_ms(now)) as i32; // < 31 days of ms fits in i32
        let counter = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut id = self.prefix.clone();
        push_hex(&mut id, &since_month.to_be_bytes());
        push_hex(&mut id, &counter.to_be_bytes());
        id
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Unix ms of 00:00 UTC on the first day of the month containing `ms`.
fn start_of_month_ms(ms: i64) -> i64 {
    const DAY_MS: i64 = 86_400_000;
    let days = ms.div_euclid(DAY_MS);
    let (y, m, _) = civil_from_days(days);
    days_from_civil(y, m, 1) * DAY_MS
}

/// Days since 1970-01-01 → (year, month 1..=12, day 1..=31), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// (year, month, day) → days since 1970-01-01, proleptic Gregorian.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_id_v4_layout_and_roundtrip() {
        let host: SocketAddr = "192.168.0.1:10911".parse().expect("addr");
        let id = create_offset_msg_id(host, 0x1234);
        assert_eq!(id, "C0A8000100002A9F0000000000001234");
        assert_eq!(decode_offset_msg_id(&id), Ok((host, 0x1234)));
        assert_eq!(decode_offset_msg_id(&id.to_lowercase()), Ok((host, 0x1234)));
    }

    #[test]
    fn offset_id_v6_roundtrip() {
        let host: SocketAddr = "[2001:db8::1]:10911".parse().expect("addr");
        let id = create_offset_msg_id(host, i64::MAX);
        assert_eq!(id.len(), 56);
        assert_eq!(decode_offset_msg_id(&id), Ok((host, i64::MAX)));
    }

    #[test]
    fn malformed_offset_ids_are_rejected() {
        assert_eq!(decode_offset_msg_id("ABC"), Err(MessageIdError::BadLength(3)));
        assert_eq!(decode_offset_msg_id(&"G".repeat(32)), Err(MessageIdError::NotHex));
        assert_eq!(decode_offset_msg_id(&"é".repeat(16)), Err(MessageIdError::NotHex));
        let bad_port = "0A000001FFFFFFFF0000000000000001";
        assert_eq!(decode_offset_msg_id(bad_port), Err(MessageIdError::BadPort(-1)));
    }

    #[test]
    fn uniq_ids_are_32_hex_chars_and_distinct() {
        let gen = UniqIdGenerator::new("10.1.2.3".parse().expect("ip"));
        let a = gen.next();
        let b = gen.next();
        assert_eq!(a.len(), 32);
        assert!(a.starts_with("0A010203"));
        assert!(a.bytes().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
        assert_ne!(a, b);
        let v6 = UniqIdGenerator::new("::1".parse().expect("ip")).next();
        assert_eq!(v6.len(), 56);
    }

    #[test]
    fn start_of_month_is_computed_in_utc() {
        // 2024-02-29T12:34:56Z → 2024-02-01T00:00:00Z
        assert_eq!(start_of_month_ms(1_709_210_096_000), 1_706_745_600_000);
        // 2023-12-31T23:59:59.999Z → 2023-12-01
        assert_eq!(start_of_month_ms(1_704_067_199_999), 1_701_388_800_000);
        assert_eq!(start_of_month_ms(0), 0);
        assert_eq!(civil_from_days(days_from_civil(2000, 3, 1)), (2000, 3, 1));
    }
}
