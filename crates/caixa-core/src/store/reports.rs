//! The figures behind reports, straight from the store: conversations started and resolved
//! (`status_changes`), messages in and out, response and resolution times, activity by day and
//! by hour. Times are bucketed with the viewer's UTC offset.

use rusqlite::{params, Connection};

use crate::error::Result;
use crate::model::{InboxId, ReportTotals};

const MS_PER_DAY: i64 = 86_400_000;

/// `(since, until, inbox)` as every query takes them: ?1, ?2, ?3.
pub struct Range {
    pub since: i64,
    pub until: i64,
    pub inbox: Option<InboxId>,
    /// Offset from UTC in ms.
    pub offset_ms: i64,
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let mid = v.len() / 2;
    Some(if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2
    } else {
        v[mid]
    })
}

fn column(conn: &Connection, sql: &str, r: &Range) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![r.since, r.until, r.inbox], |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn totals(conn: &Connection, r: &Range) -> Result<ReportTotals> {
    let opened: u32 = conn
        .prepare_cached(
            "SELECT count(*) FROM conversations
             WHERE created_at >= ?1 AND created_at < ?2 AND (?3 IS NULL OR inbox_id = ?3)",
        )?
        .query_row(params![r.since, r.until, r.inbox], |row| row.get(0))?;
    let resolution = column(
        conn,
        "SELECT min(s.at) - c.created_at FROM status_changes s
         JOIN conversations c ON c.id = s.conversation_id
         WHERE s.status = 'resolved' AND s.at >= ?1 AND s.at < ?2
           AND (?3 IS NULL OR c.inbox_id = ?3)
         GROUP BY s.conversation_id",
        r,
    )?;
    let mut t = ReportTotals {
        opened,
        resolved: resolution.len() as u32,
        median_resolution_ms: median(resolution),
        ..ReportTotals::default()
    };
    let mut stmt = conn.prepare_cached(
        "SELECT kind, by_bot, count(*) FROM messages
         WHERE kind IN ('incoming', 'outgoing') AND created_at >= ?1 AND created_at < ?2
           AND (?3 IS NULL OR inbox_id = ?3)
         GROUP BY kind, by_bot",
    )?;
    let mut rows = stmt.query(params![r.since, r.until, r.inbox])?;
    while let Some(row) = rows.next()? {
        let (kind, by_bot, n): (String, bool, u32) = (row.get(0)?, row.get(1)?, row.get(2)?);
        match (kind.as_str(), by_bot) {
            ("incoming", _) => t.messages_in += n,
            ("outgoing", false) => t.messages_out += n,
            _ => t.bot_messages += n,
        }
    }
    t.median_first_response_ms = median(column(
        conn,
        "SELECT (SELECT min(o.created_at) FROM messages o
                 WHERE o.conversation_id = f.id AND o.kind = 'outgoing' AND o.by_bot = 0
                   AND o.created_at >= f.first_in) - f.first_in
         FROM (SELECT c.id,
                      (SELECT min(i.created_at) FROM messages i
                       WHERE i.conversation_id = c.id AND i.kind = 'incoming') AS first_in
               FROM conversations c
               WHERE c.created_at >= ?1 AND c.created_at < ?2
                 AND (?3 IS NULL OR c.inbox_id = ?3)) f
         WHERE f.first_in IS NOT NULL
           AND EXISTS (SELECT 1 FROM messages o WHERE o.conversation_id = f.id
                       AND o.kind = 'outgoing' AND o.by_bot = 0 AND o.created_at >= f.first_in)",
        r,
    )?);
    Ok(t)
}

/// Counts per local day number (days since 1970-01-01 in the viewer's offset).
fn per_day(conn: &Connection, sql: &str, r: &Range) -> Result<Vec<(i64, u32)>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(
        params![r.since, r.until, r.inbox, r.offset_ms, MS_PER_DAY],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// `(day number, opened, resolved, messages in)` for the days with any of them.
pub fn days(conn: &Connection, r: &Range) -> Result<Vec<(i64, u32, u32, u32)>> {
    let opened = per_day(
        conn,
        "SELECT (created_at + ?4) / ?5, count(*) FROM conversations
         WHERE created_at >= ?1 AND created_at < ?2 AND (?3 IS NULL OR inbox_id = ?3)
         GROUP BY 1",
        r,
    )?;
    let resolved = per_day(
        conn,
        "SELECT (s.at + ?4) / ?5, count(DISTINCT s.conversation_id) FROM status_changes s
         JOIN conversations c ON c.id = s.conversation_id
         WHERE s.status = 'resolved' AND s.at >= ?1 AND s.at < ?2
           AND (?3 IS NULL OR c.inbox_id = ?3)
         GROUP BY 1",
        r,
    )?;
    let incoming = per_day(
        conn,
        "SELECT (created_at + ?4) / ?5, count(*) FROM messages
         WHERE kind = 'incoming' AND created_at >= ?1 AND created_at < ?2
           AND (?3 IS NULL OR inbox_id = ?3)
         GROUP BY 1",
        r,
    )?;
    let mut out: std::collections::BTreeMap<i64, (u32, u32, u32)> = Default::default();
    for (d, n) in opened {
        out.entry(d).or_default().0 = n;
    }
    for (d, n) in resolved {
        out.entry(d).or_default().1 = n;
    }
    for (d, n) in incoming {
        out.entry(d).or_default().2 = n;
    }
    Ok(out.into_iter().map(|(d, (o, r, i))| (d, o, r, i)).collect())
}

/// Customer messages per local hour of the day.
pub fn hours(conn: &Connection, r: &Range) -> Result<[u32; 24]> {
    let mut out = [0u32; 24];
    let mut stmt = conn.prepare_cached(
        "SELECT ((created_at + ?4) / 3600000) % 24, count(*) FROM messages
         WHERE kind = 'incoming' AND created_at >= ?1 AND created_at < ?2
           AND (?3 IS NULL OR inbox_id = ?3)
         GROUP BY 1",
    )?;
    let mut rows = stmt.query(params![r.since, r.until, r.inbox, r.offset_ms])?;
    while let Some(row) = rows.next()? {
        let (h, n): (i64, u32) = (row.get(0)?, row.get(1)?);
        if let Some(slot) = out.get_mut(h.rem_euclid(24) as usize) {
            *slot += n;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn medians() {
        assert_eq!(super::median(vec![]), None);
        assert_eq!(super::median(vec![5, 1, 9]), Some(5));
        assert_eq!(super::median(vec![4, 1, 9, 2]), Some(3));
    }
}
