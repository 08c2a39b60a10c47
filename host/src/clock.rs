//! Wall-clock time as Unix seconds and RFC 3339 text, without a date library.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Now, in Unix milliseconds (deadlines of waits and interactions).
pub fn now_ms() -> i64 {
    now_micros() / 1000
}

/// Microseconds since the Unix epoch, now: ordering keys for rows created in quick succession.
pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// `secs` as RFC 3339 UTC, e.g. `2026-11-22T15:41:57Z`.
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The longest duration accepted anywhere a duration is written (step timeouts, retry delays,
/// waits, interaction timeouts, key expiry, `--since`): 3,660 days, about ten years. Bounding
/// it here keeps every deadline computed from a duration far from overflow.
pub const MAX_DURATION_SECS: i64 = 3_660 * 86_400;

/// The text of [`MAX_DURATION_SECS`] for error messages.
pub const MAX_DURATION_TEXT: &str = "3660d";

/// Parses a duration such as `90s`, `15m`, `12h`, `30d`, at most [`MAX_DURATION_SECS`]; the
/// error names the input (shortened if long).
pub fn parse_duration_secs(text: &str) -> Result<i64, String> {
    let input = text.trim();
    // Parse the input itself; only the errors quote it shortened.
    let text = crate::text::clip(input);
    let split = input.char_indices().last().map_or(0, |(i, _)| i);
    let (num, unit) = input.split_at(split);
    let n: i64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 90s, 15m, 12h or 30d"))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "`{text}` is not a duration like 90s, 15m, 12h or 30d"
            ));
        }
    };
    n.checked_mul(mult)
        .filter(|s| (1..=MAX_DURATION_SECS).contains(s))
        .ok_or_else(|| {
            format!(
                "duration `{text}` is out of range (more than 0 and at most {MAX_DURATION_TEXT})"
            )
        })
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_362_117), "2026-11-22T15:41:57Z");
    }

    #[test]
    fn parses_durations_and_rejects_nonsense() {
        assert_eq!(parse_duration_secs("90s"), Ok(90));
        assert_eq!(parse_duration_secs("30d"), Ok(30 * 86_400));
        for bad in ["", "d", "10", "10w", "-5m", "0s", "5µ", "µ"] {
            assert!(parse_duration_secs(bad).is_err(), "{bad}");
        }
    }

    /// Issue 14 item 8: durations that overflow a deadline are refused, not accepted.
    #[test]
    fn a_long_duration_is_parsed_whole_and_only_its_error_is_shortened() {
        // Zero-padded past the 80 characters an error quotes: still one minute.
        let padded = format!("{}1m", "0".repeat(100));
        assert_eq!(parse_duration_secs(&padded), Ok(60));
        let bad = format!("{}x", "1".repeat(100));
        let err = parse_duration_secs(&bad).expect_err("not a duration");
        assert!(err.len() < 200, "{err}");
    }

    #[test]
    fn durations_beyond_the_maximum_are_refused() {
        assert_eq!(parse_duration_secs("3660d"), Ok(MAX_DURATION_SECS));
        for huge in [
            "3661d",
            "9223372036854775807s",
            "106751991167300d",
            "153722867280912931m",
            "99999999999999999999999d",
        ] {
            let err = parse_duration_secs(huge).expect_err(huge);
            assert!(
                err.contains(huge) || err.contains("not a duration"),
                "{err}"
            );
        }
    }
}
