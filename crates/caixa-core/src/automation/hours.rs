//! Business hours: is an inbox open at a given moment, in its own time zone.

use jiff::{tz::TimeZone, Timestamp};

use crate::model::BusinessHours;

/// `HH:MM` as minutes since midnight; `24:00` is allowed as the end of a day.
fn minutes(text: &str) -> Option<u16> {
    let (h, m) = text.trim().split_once(':')?;
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !(1..=2).contains(&h.len()) || m.len() != 2 || !digits(h) || !digits(m) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    let total = h * 60 + m;
    (m < 60 && total <= 24 * 60).then_some(total)
}

/// Why the hours cannot be used, in words for the settings form.
pub fn check(hours: &BusinessHours) -> Result<(), String> {
    TimeZone::get(hours.time_zone.trim()).map_err(|_| {
        format!(
            "“{}” is not a known time zone (e.g. America/Sao_Paulo).",
            hours.time_zone
        )
    })?;
    for d in &hours.days {
        if !(1..=7).contains(&d.weekday) {
            return Err("Days go from 1 (Monday) to 7 (Sunday).".into());
        }
        let (Some(open), Some(close)) = (minutes(&d.open), minutes(&d.close)) else {
            return Err(format!(
                "Write times as HH:MM, e.g. 09:00 and 18:00 (got {} – {}).",
                d.open, d.close
            ));
        };
        if open >= close {
            return Err(format!("{} must be before {}.", d.open, d.close));
        }
    }
    Ok(())
}

/// Whether `at_ms` (Unix ms) falls inside the hours. Hours that do not check out count as
/// open, so a broken setting never silences an inbox.
pub fn is_open(hours: &BusinessHours, at_ms: i64) -> bool {
    let Ok(tz) = TimeZone::get(hours.time_zone.trim()) else {
        return true;
    };
    let Ok(ts) = Timestamp::from_millisecond(at_ms) else {
        return true;
    };
    let local = ts.to_zoned(tz);
    let weekday = local.weekday().to_monday_one_offset() as u8;
    let now = local.hour() as u16 * 60 + local.minute() as u16;
    hours.days.iter().any(|d| {
        d.weekday == weekday
            && matches!((minutes(&d.open), minutes(&d.close)), (Some(o), Some(c)) if o <= now && now < c)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OpeningHours;

    fn weekdays_9_to_18(tz: &str) -> BusinessHours {
        BusinessHours {
            time_zone: tz.into(),
            days: (1..=5)
                .map(|weekday| OpeningHours {
                    weekday,
                    open: "09:00".into(),
                    close: "18:00".into(),
                })
                .collect(),
        }
    }

    fn ms(rfc3339: &str) -> i64 {
        rfc3339.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn open_follows_the_inbox_time_zone() {
        let h = weekdays_9_to_18("America/Sao_Paulo");
        // Monday 2026-11-30 12:00 UTC = 09:00 in São Paulo (UTC−3): just open.
        assert!(is_open(&h, ms("2026-11-30T12:00:00Z")));
        assert!(!is_open(&h, ms("2026-11-30T11:59:00Z")));
        // 18:00 local is closed; 17:59 open.
        assert!(is_open(&h, ms("2026-11-30T20:59:00Z")));
        assert!(!is_open(&h, ms("2026-11-30T21:00:00Z")));
        // Saturday noon local: closed.
        assert!(!is_open(&h, ms("2026-12-05T15:00:00Z")));
    }

    #[test]
    fn bad_hours_are_refused_with_the_reason() {
        let mut h = weekdays_9_to_18("Mars/Olympus");
        assert!(check(&h).unwrap_err().contains("time zone"));
        h.time_zone = "Europe/Lisbon".into();
        assert_eq!(check(&h), Ok(()));
        h.days[0].close = "08:00".into();
        assert!(check(&h).unwrap_err().contains("before"));
        h.days[0].close = "9h".into();
        assert!(check(&h).unwrap_err().contains("HH:MM"));
        h.days[0].close = "24:00".into();
        assert_eq!(check(&h), Ok(()));
        h.days[0].weekday = 8;
        assert!(check(&h).is_err());
    }
}
