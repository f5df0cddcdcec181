//! Times on the command line: timestamps as mqadmin takes them (`now`, milliseconds since the
//! epoch, or local `yyyy-MM-dd#HH:mm:ss:SSS`), `--timeout` durations, and local-time display.

use std::time::Duration;

use chrono::{DateTime, Local, LocalResult, NaiveDateTime, TimeZone};

/// mqadmin's `UtilAll.YYYY_MM_DD_HH_MM_SS_SSS` pattern.
const MQADMIN_FORMAT: &str = "%Y-%m-%d#%H:%M:%S:%3f";

/// Parses a timestamp in local time; `now_ms` is what `now` means.
pub fn parse_timestamp_at<Tz: TimeZone>(s: &str, now_ms: i64, tz: &Tz) -> Result<i64, String> {
    let s = s.trim();
    if s == "now" {
        return Ok(now_ms);
    }
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    let naive = NaiveDateTime::parse_from_str(s, MQADMIN_FORMAT).map_err(|_| {
        format!("invalid timestamp '{s}': expected now, milliseconds since the epoch, or yyyy-MM-dd#HH:mm:ss:SSS")
    })?;
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Ok(t.timestamp_millis()),
        LocalResult::None => Err(format!("invalid timestamp '{s}': that local time does not exist (DST gap)")),
    }
}

/// Parses a timestamp in the machine's time zone (clap value parser).
pub fn parse_timestamp(s: &str) -> Result<i64, String> {
    parse_timestamp_at(s, Local::now().timestamp_millis(), &Local)
}

/// Parses `--timeout`: milliseconds (`3000`), or with a unit (`500ms`, `3s`).
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (digits, scale) = if let Some(d) = s.strip_suffix("ms") {
        (d, 1)
    } else if let Some(d) = s.strip_suffix('s') {
        (d, 1000)
    } else {
        (s, 1)
    };
    match digits.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(Duration::from_millis(n * scale)),
        _ => Err(format!("invalid timeout '{s}': expected milliseconds like 3000, or 500ms / 3s")),
    }
}

/// `yyyy-MM-dd HH:mm:ss.SSS` in `tz`, or an empty string for 0 (unknown).
pub fn format_ms_in<Tz: TimeZone>(ms: i64, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    if ms <= 0 {
        return String::new();
    }
    match DateTime::from_timestamp_millis(ms) {
        Some(utc) => utc.with_timezone(tz).format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
        None => ms.to_string(),
    }
}

/// [`format_ms_in`] the machine's time zone.
pub fn format_ms(ms: i64) -> String {
    format_ms_in(ms, &Local)
}

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, Utc};

    use super::*;

    #[test]
    fn timestamps_parse_like_mqadmin() {
        assert_eq!(parse_timestamp_at("now", 42, &Utc), Ok(42));
        assert_eq!(parse_timestamp_at("1700000000000", 42, &Utc), Ok(1_700_000_000_000));
        assert_eq!(parse_timestamp_at("-1", 42, &Utc), Ok(-1));
        assert_eq!(parse_timestamp_at("2023-11-14#22:13:20:123", 0, &Utc), Ok(1_700_000_000_123));
        let plus_two = FixedOffset::east_opt(2 * 3600).expect("offset");
        assert_eq!(parse_timestamp_at("2023-11-15#00:13:20:000", 0, &plus_two), Ok(1_700_000_000_000));
        assert!(parse_timestamp_at("2023-11-14 22:13:20", 0, &Utc).is_err());
        assert!(parse_timestamp_at("yesterday", 0, &Utc).is_err());
    }

    #[test]
    fn timeouts_take_milliseconds_or_units() {
        assert_eq!(parse_timeout("3000"), Ok(Duration::from_millis(3000)));
        assert_eq!(parse_timeout("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_timeout("3s"), Ok(Duration::from_secs(3)));
        assert!(parse_timeout("0").is_err());
        assert!(parse_timeout("soon").is_err());
    }

    #[test]
    fn times_print_in_the_given_zone() {
        assert_eq!(format_ms_in(1_700_000_000_123, &Utc), "2023-11-14 22:13:20.123");
        assert_eq!(format_ms_in(0, &Utc), "");
    }
}
