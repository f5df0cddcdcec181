//! IndexFile names: the creation time as `yyyyMMddHHmmssSSS` (Apache
//! `UtilAll.timeMillisToHumanString`). Apache uses local time; the store has no time-zone
//! database, so names are UTC. Names only order the files, so a new name is always made greater
//! than the newest existing one (a clock step back or an old local-time name cannot reorder them).

/// Length of a name.
pub(crate) const NAME_LEN: usize = 17;

/// Largest time a name can hold (9999-12-31T23:59:59.999Z).
const MAX_MS: i64 = 253_402_300_799_999;
const MS_PER_DAY: i64 = 86_400_000;

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Day count since 1970-01-01 of a (year, month, day).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The name of a file created at `ms` (clamped to years 1970..=9999).
pub(crate) fn format_name(ms: i64) -> String {
    let ms = ms.clamp(0, MAX_MS);
    let (year, month, day) = civil_from_days(ms / MS_PER_DAY);
    let in_day = ms % MS_PER_DAY;
    let (hour, minute) = (in_day / 3_600_000, in_day / 60_000 % 60);
    let (second, milli) = (in_day / 1000 % 60, in_day % 1000);
    format!("{year:04}{month:02}{day:02}{hour:02}{minute:02}{second:02}{milli:03}")
}

/// The time a name stands for, if it is a well-formed name.
pub(crate) fn parse_name(name: &str) -> Option<i64> {
    if name.len() != NAME_LEN || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |from: usize, to: usize| name[from..to].parse::<i64>().ok();
    let (year, month, day) = (field(0, 4)?, field(4, 6)?, field(6, 8)?);
    let (hour, minute, second, milli) = (field(8, 10)?, field(10, 12)?, field(12, 14)?, field(14, 17)?);
    if year < 1970 || !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 59
    {
        return None;
    }
    let ms =
        days_from_civil(year, month, day) * MS_PER_DAY + hour * 3_600_000 + minute * 60_000 + second * 1000 + milli;
    // Rejects impossible dates such as February 30.
    (format_name(ms) == name).then_some(ms)
}

/// The name for a file created at `now_ms` after a file named `last`: `now_ms`, or 1 ms after
/// `last` when that is not later. `None` only if no later name exists (year 9999).
pub(crate) fn next_name(last: Option<&str>, now_ms: i64) -> Option<String> {
    let after = last.and_then(parse_name).map_or(i64::MIN, |ms| ms.saturating_add(1));
    let name = format_name(now_ms.max(after));
    match last {
        Some(last) if name.as_str() <= last => None,
        _ => Some(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_utc_timestamps_with_millis() {
        assert_eq!(format_name(0), "19700101000000000");
        // 2024-02-29T13:45:07.089Z
        assert_eq!(format_name(1_709_214_307_089), "20240229134507089");
        assert_eq!(parse_name("20240229134507089"), Some(1_709_214_307_089));
        assert_eq!(format_name(MAX_MS), "99991231235959999");
    }

    #[test]
    fn malformed_names_do_not_parse() {
        for bad in
            ["2024022913450708", "2023022913450708x", "20230229134507089", "20241301000000000", "19691231235959999"]
        {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn next_name_is_always_later_than_the_last() {
        assert_eq!(next_name(None, 0).as_deref(), Some("19700101000000000"));
        let now = 1_709_214_307_089;
        assert_eq!(next_name(Some("20240229134507089"), now).as_deref(), Some("20240229134507090"));
        assert_eq!(next_name(Some("20300101000000000"), now).as_deref(), Some("20300101000000001"));
        assert_eq!(next_name(Some("20200101000000000"), now).as_deref(), Some("20240229134507089"));
        assert_eq!(next_name(Some("99991231235959999"), now), None);
    }
}
