//! Full-text search (FTS5) over message text and contacts, newest first, one hit per conversation.

use std::collections::HashSet;

use rusqlite::{params, Connection};

use crate::error::Result;
use crate::model::{ChannelKind, SearchHit};

/// Turns what a person typed into an FTS5 query that cannot be a syntax error: every word is
/// a quoted phrase, and the last one is a prefix so results follow the typing.
pub fn fts_query(input: &str) -> Option<String> {
    let words: Vec<String> = input
        .split_whitespace()
        .map(|w| w.replace('"', "\"\""))
        .filter(|w| !w.is_empty())
        .collect();
    let (last, rest) = words.split_last()?;
    let mut q: Vec<String> = rest.iter().map(|w| format!("\"{w}\"")).collect();
    q.push(format!("\"{last}\"*"));
    Some(q.join(" "))
}

/// How many matching messages to walk at most to find `limit` distinct conversations.
const SCAN_LIMIT: u32 = 5_000;

pub fn search(conn: &Connection, input: &str, limit: u32) -> Result<Vec<SearchHit>> {
    let Some(query) = fts_query(input) else {
        return Ok(Vec::new());
    };
    let limit = limit.clamp(1, 200) as usize;
    let mut hits = Vec::with_capacity(limit);
    let mut seen = HashSet::new();

    // Contacts first: a name or address match is usually what the agent is after.
    let mut stmt = conn.prepare_cached(
        "SELECT c.id, ct.name, i.name, i.kind, c.last_activity_at,
                snippet(contacts_fts, -1, char(2), char(3), '…', 8)
         FROM contacts_fts
         JOIN conversations c ON c.contact_id = contacts_fts.rowid
         JOIN contacts ct ON ct.id = c.contact_id
         JOIN inboxes i ON i.id = c.inbox_id
         WHERE contacts_fts MATCH ?1
         ORDER BY c.last_activity_at DESC LIMIT ?2",
    )?;
    let mut rows = stmt.query(params![query, limit as i64])?;
    while let Some(r) = rows.next()? {
        let conversation_id: i64 = r.get(0)?;
        if !seen.insert(conversation_id) {
            continue;
        }
        hits.push(SearchHit {
            conversation_id,
            message_id: None,
            contact_name: r.get(1)?,
            inbox_name: r.get(2)?,
            channel: kind(&r.get::<_, String>(3)?),
            created_at: r.get(4)?,
            snippet: r.get(5)?,
        });
    }

    let mut stmt = conn.prepare_cached(
        "SELECT m.conversation_id, m.id, ct.name, i.name, i.kind, m.created_at,
                snippet(messages_fts, 0, char(2), char(3), '…', 12)
         FROM messages_fts
         JOIN messages m ON m.id = messages_fts.rowid
         JOIN conversations c ON c.id = m.conversation_id
         JOIN contacts ct ON ct.id = c.contact_id
         JOIN inboxes i ON i.id = c.inbox_id
         WHERE messages_fts MATCH ?1
         ORDER BY messages_fts.rowid DESC LIMIT ?2",
    )?;
    let mut rows = stmt.query(params![query, SCAN_LIMIT])?;
    while hits.len() < limit {
        let Some(r) = rows.next()? else { break };
        let conversation_id: i64 = r.get(0)?;
        if !seen.insert(conversation_id) {
            continue;
        }
        hits.push(SearchHit {
            conversation_id,
            message_id: Some(r.get(1)?),
            contact_name: r.get(2)?,
            inbox_name: r.get(3)?,
            channel: kind(&r.get::<_, String>(4)?),
            created_at: r.get(5)?,
            snippet: r.get(6)?,
        });
    }
    hits.truncate(limit);
    Ok(hits)
}

fn kind(s: &str) -> ChannelKind {
    ChannelKind::parse(s).unwrap_or(ChannelKind::Api)
}

#[cfg(test)]
mod tests {
    use super::fts_query;

    #[test]
    fn user_input_becomes_a_safe_query() {
        assert_eq!(fts_query(""), None);
        assert_eq!(fts_query("  "), None);
        assert_eq!(fts_query("order"), Some("\"order\"*".into()));
        assert_eq!(
            fts_query("late \"order"),
            Some("\"late\" \"\"\"order\"*".into())
        );
        assert_eq!(fts_query("a AND b"), Some("\"a\" \"AND\" \"b\"*".into()));
    }
}
