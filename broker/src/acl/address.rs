//! Remote-address patterns of `plain_acl.yml` (`globalWhiteRemoteAddresses`,
//! `whiteRemoteAddress`), in Apache 4.x's syntax: `*` (anyone), one address, a comma-separated
//! list, `192.168.0.{1,2,3}`, a range at one octet (`192.168.*`, `192.168.1.1-100`; later
//! octets may only be `*`), and, beyond Apache, CIDR blocks (`10.0.0.0/8`, `fd00::/8`). IPv6 works the same way
//! on its 16-bit groups.

use std::net::IpAddr;

use ipnet::IpNet;

/// A parsed address pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressPattern {
    /// `*`, `*.*.*.*`: every address.
    Any,
    /// Exact addresses (one, a comma list, or a `{a,b}` expansion).
    Exact(Vec<IpAddr>),
    /// A network in CIDR notation.
    Network(IpNet),
    /// The first `prefix.len()` parts equal `prefix` and the next part lies in `low..=high`.
    Range { v6: bool, prefix: Vec<u16>, low: u16, high: u16 },
}

impl AddressPattern {
    /// Parses one pattern; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bad = |why: &str| format!("bad address pattern '{text}': {why}");
        if text.is_empty() {
            return Err(bad("empty"));
        }
        if matches!(text, "*" | "*.*.*.*" | "*:*:*:*:*:*:*:*") {
            return Ok(AddressPattern::Any);
        }
        if text.contains('/') {
            return text.parse().map(AddressPattern::Network).map_err(|_| bad("not a CIDR block"));
        }
        if let Some((head, rest)) = text.split_once('{') {
            let list = rest.strip_suffix('}').ok_or_else(|| bad("'{' without a closing '}'"))?;
            let addrs = list
                .split(',')
                .map(|last| format!("{head}{}", last.trim()).parse::<IpAddr>().map_err(|_| bad("not an address")))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(AddressPattern::Exact(addrs));
        }
        if text.contains(',') {
            let addrs = text
                .split(',')
                .map(|a| a.trim().parse::<IpAddr>().map_err(|_| bad("not an address list")))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(AddressPattern::Exact(addrs));
        }
        if text.contains('*') || text.contains('-') {
            return parse_range(text).ok_or_else(|| bad("expected a '*' or 'n-m' range at one octet"));
        }
        text.parse().map(|a| AddressPattern::Exact(vec![a])).map_err(|_| bad("not an address"))
    }

    /// Whether `addr` matches.
    pub fn matches(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        match self {
            AddressPattern::Any => true,
            AddressPattern::Exact(list) => list.iter().any(|a| canonical(*a) == addr),
            AddressPattern::Network(net) => net.contains(&addr),
            AddressPattern::Range { v6, prefix, low, high } => {
                let parts = parts(addr);
                if *v6 != matches!(addr, IpAddr::V6(_)) {
                    return false;
                }
                parts.get(..prefix.len()) == Some(prefix.as_slice())
                    && parts.get(prefix.len()).is_some_and(|p| (*low..=*high).contains(p))
            }
        }
    }
}

/// IPv4-mapped IPv6 addresses (a dual-stack listener's view of IPv4 peers) as IPv4.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

fn parts(addr: IpAddr) -> Vec<u16> {
    match addr {
        IpAddr::V4(v4) => v4.octets().iter().map(|o| u16::from(*o)).collect(),
        IpAddr::V6(v6) => v6.segments().to_vec(),
    }
}

/// `a.b.*`, `a.b.c.10-20`, `a:b:*` …: fixed parts, then one `*` or `n-m` part, then only `*`
/// parts (`192.168.*.5` is refused: it would silently admit all of `192.168.*`).
fn parse_range(text: &str) -> Option<AddressPattern> {
    let v6 = text.contains(':');
    let (separator, radix, max, count) = if v6 { (':', 16, u16::MAX, 8) } else { ('.', 10, 255, 4) };
    if text.split(separator).count() > count {
        return None;
    }
    let mut prefix = Vec::new();
    let mut parts = text.split(separator);
    while let Some(part) = parts.next() {
        let range = if part == "*" {
            Some((0, max))
        } else if let Some((low, high)) = part.split_once('-') {
            let low = u16::from_str_radix(low, radix).ok()?;
            let high = u16::from_str_radix(high, radix).ok()?;
            Some((low, high)).filter(|(low, high)| low <= high && *high <= max)
        } else {
            None
        };
        if let Some((low, high)) = range {
            return parts.all(|rest| rest == "*").then_some(AddressPattern::Range { v6, prefix, low, high });
        }
        if part.contains('-') {
            return None;
        }
        let fixed = u16::from_str_radix(part, radix).ok().filter(|p| *p <= max)?;
        prefix.push(fixed);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    fn matches(pattern: &str, addr: &str) -> bool {
        AddressPattern::parse(pattern).expect("valid pattern").matches(ip(addr))
    }

    #[test]
    fn apache_pattern_forms_match_as_apache_documents() {
        assert!(matches("*", "10.1.2.3"));
        assert!(matches("*.*.*.*", "10.1.2.3"));
        assert!(matches("192.168.0.*", "192.168.0.77"));
        assert!(!matches("192.168.0.*", "192.168.1.77"));
        assert!(matches("192.168.*", "192.168.200.1"));
        assert!(matches("192.168.1.1-100", "192.168.1.100"));
        assert!(matches("192.168.1-2.*", "192.168.2.9"));
        assert!(!matches("192.168.1.1-100", "192.168.1.101"));
        assert!(matches("192.168.1.{1,2,3}", "192.168.1.2"));
        assert!(!matches("192.168.1.{1,2,3}", "192.168.1.4"));
        assert!(matches("10.0.0.1,10.0.0.2", "10.0.0.2"));
        assert!(matches("127.0.0.1", "127.0.0.1"));
        assert!(!matches("127.0.0.1", "127.0.0.2"));
        assert!(matches("fd00:0:0:0:*", "fd00::1"));
        assert!(matches("10.0.0.0/8", "10.200.0.1"));
        assert!(!matches("10.0.0.0/8", "11.0.0.1"));
    }

    #[test]
    fn an_ipv4_peer_seen_through_a_dual_stack_socket_matches_ipv4_patterns() {
        assert!(matches("127.0.0.*", "::ffff:127.0.0.9"));
    }

    #[test]
    fn malformed_patterns_are_refused_with_the_pattern_named() {
        for bad in [
            "",
            "192.168.1.300-400",
            "192.168.1.{1,2",
            "not-an-ip",
            "10.0.0.0/99",
            "1.2.3.4.5",
            "192.168.*.5",
            "10.1-2.3.4",
            "1.2.3.4.*",
        ] {
            let err = AddressPattern::parse(bad).expect_err(bad);
            assert!(err.contains(bad.trim()), "{err}");
        }
    }
}
