//! Full-text search (FTS5) over message text, e-mail subjects and contacts, with conversation
//! filters, newest first or by relevance, one hit per conversation.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::Result;
use crate::model::{ChannelKind, ConversationStatus, SearchHit, SearchOrder, SearchQuery};

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
const SCAN_LIMIT: i64 = 5_000;

/// The conversation filters of a query, as SQL on `c` (conversations), parameters ?2…?5
/// (?1 is the FTS query, ?6/?7 the time range, ?8 the scan limit).
const FILTERS: &str = "
    AND (?2 IS NULL OR c.inbox_id = ?2)
    AND (?3 IS NULL OR c.status = ?3)
    AND (?4 IS NULL OR c.assignee = ?4)
    AND (?5 IS NULL OR c.id IN (SELECT cl.conversation_id FROM conversation_labels cl
                                JOIN labels l ON l.id = cl.label_id WHERE l.name = ?5))";

/// The time range on a column.
fn during(column: &str) -> String {
    format!("AND (?6 IS NULL OR {column} >= ?6) AND (?7 IS NULL OR {column} < ?7)")
}

/// One matching message (or contact), before grouping by conversation.
struct Candidate {
    conversation_id: i64,
    message_id: Option<i64>,
    /// Which index matched, for the snippet.
    source: Source,
    created_at: i64,
    rank: f64,
}

#[derive(Clone, Copy, PartialEq)]
enum Source {
    Contact,
    Message,
    Subject,
}

/// Searches message text (notes included), e-mail subjects and contacts (names, e-mails,
/// phones) with the query's filters: one hit per conversation, contacts first, then by the
/// chosen order, with a highlighted snippet and the number of matching messages.
pub fn search(conn: &Connection, q: &SearchQuery, limit: u32) -> Result<Vec<SearchHit>> {
    let Some(fts) = fts_query(&q.text) else {
        return Ok(Vec::new());
    };
    let limit = limit.clamp(1, 200) as usize;
    let status = q.status.map(|s| s.as_str());
    let args = params![fts, q.inbox_id, status, q.assignee, q.label, q.since, q.until, SCAN_LIMIT];

    // Contacts: the conversation's last activity stands in for the message time.
    let mut contacts = Vec::new();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT c.id, c.last_activity_at, bm25(contacts_fts)
         FROM contacts_fts
         JOIN conversations c ON c.contact_id = contacts_fts.rowid
         WHERE contacts_fts MATCH ?1 {FILTERS} {}
         ORDER BY c.last_activity_at DESC LIMIT ?8",
        during("c.last_activity_at")
    ))?;
    let mut rows = stmt.query(args)?;
    while let Some(r) = rows.next()? {
        contacts.push(Candidate {
            conversation_id: r.get(0)?,
            message_id: None,
            source: Source::Contact,
            created_at: r.get(1)?,
            rank: r.get(2)?,
        });
    }

    let mut found = Vec::new();
    for (table, source) in [
        ("messages_fts", Source::Message),
        ("subjects_fts", Source::Subject),
    ] {
        // FTS5 walks its own rowids (= message ids) backwards without sorting; anything else
        // would sort every match first.
        let order = match q.order {
            SearchOrder::Newest => format!("ORDER BY {table}.rowid DESC"),
            SearchOrder::Relevance => "ORDER BY rank".to_string(),
        };
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT m.conversation_id, m.id, m.created_at, bm25({table}) AS rank
             FROM {table}
             JOIN messages m ON m.id = {table}.rowid
             JOIN conversations c ON c.id = m.conversation_id
             WHERE {table} MATCH ?1 AND m.kind != 'activity' {FILTERS} {}
             {order} LIMIT ?8",
            during("m.created_at")
        ))?;
        let mut rows = stmt.query(args)?;
        while let Some(r) = rows.next()? {
            found.push(Candidate {
                conversation_id: r.get(0)?,
                message_id: Some(r.get(1)?),
                source,
                created_at: r.get(2)?,
                rank: r.get(3)?,
            });
        }
    }
    match q.order {
        SearchOrder::Newest => found.sort_by_key(|c| std::cmp::Reverse(c.created_at)),
        SearchOrder::Relevance => found.sort_by(|a, b| a.rank.total_cmp(&b.rank)),
    }

    // Group: a conversation's first candidate is the one shown; its messages are counted.
    let mut order: Vec<i64> = Vec::new();
    let mut first: HashMap<i64, Candidate> = HashMap::new();
    let mut counts: HashMap<i64, u32> = HashMap::new();
    for c in contacts.into_iter().chain(found) {
        let id = c.conversation_id;
        if c.message_id.is_some() {
            *counts.entry(id).or_default() += 1;
        }
        first.entry(id).or_insert_with(|| {
            order.push(id);
            c
        });
    }
    order
        .iter()
        .take(limit)
        .map(|id| {
            let n = counts.get(id).copied().unwrap_or(0);
            hit(conn, &q.text, &fts, &first[id], n)
        })
        .collect()
}

/// The details and snippet of one hit (only for hits shown: snippets are costly).
fn hit(
    conn: &Connection,
    input: &str,
    fts: &str,
    c: &Candidate,
    matches: u32,
) -> Result<SearchHit> {
    let (name, inbox, kind_text, status): (String, String, String, String) = conn
        .prepare_cached(
            "SELECT ct.name, i.name, i.kind, c.status FROM conversations c
             JOIN contacts ct ON ct.id = c.contact_id JOIN inboxes i ON i.id = c.inbox_id
             WHERE c.id = ?1",
        )?
        .query_row([c.conversation_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
    let snippet_sql = match c.source {
        Source::Contact => {
            "SELECT snippet(contacts_fts, -1, char(2), char(3), '…', 8) FROM contacts_fts
             WHERE contacts_fts MATCH ?1 AND rowid = (SELECT contact_id FROM conversations WHERE id = ?2)"
        }
        Source::Message => {
            "SELECT snippet(messages_fts, 0, char(2), char(3), '…', 12) FROM messages_fts
             WHERE messages_fts MATCH ?1 AND rowid = ?2"
        }
        Source::Subject => {
            "SELECT snippet(subjects_fts, 0, char(2), char(3), '…', 12) FROM subjects_fts
             WHERE subjects_fts MATCH ?1 AND rowid = ?2"
        }
    };
    let key = c.message_id.unwrap_or(c.conversation_id);
    let text_sql = match c.source {
        Source::Contact => None,
        Source::Message => Some("SELECT content FROM messages WHERE id = ?1"),
        Source::Subject => Some("SELECT subject FROM email_messages WHERE message_id = ?1"),
    };
    let exact = match text_sql {
        Some(sql) => conn
            .prepare_cached(sql)?
            .query_row([key], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten()
            .and_then(|text| exact_query(input, &text)),
        None => None,
    };
    let mut snippet = None;
    for query in exact.iter().chain([&fts.to_string()]) {
        snippet = conn
            .prepare_cached(snippet_sql)?
            .query_row(params![query, key], |r| r.get::<_, String>(0))
            .optional()?;
        if snippet.is_some() {
            break;
        }
    }
    let snippet = snippet.unwrap_or_default();
    Ok(SearchHit {
        conversation_id: c.conversation_id,
        message_id: c.message_id,
        contact_name: name,
        inbox_name: inbox,
        channel: kind(&kind_text),
        status: ConversationStatus::parse(&status).unwrap_or(ConversationStatus::Open),
        snippet,
        created_at: c.created_at,
        matches,
    })
}

/// The query with its last (prefix) word replaced by the words of `text` it completes, so a
/// snippet can be asked for with exact terms only: FTS5 seeks one row by rowid for those, but
/// for a prefix it first merges every matching term of the whole index (~10 ms for a common
/// one at a million messages, per snippet). `None` when nothing in `text` completes it.
fn exact_query(input: &str, text: &str) -> Option<String> {
    let words: Vec<String> = input
        .split_whitespace()
        .map(fold)
        .filter(|w| !w.is_empty())
        .collect();
    let (last, rest) = words.split_last()?;
    let last: String = last.chars().filter(|c| c.is_alphanumeric()).collect();
    let mut completions: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .map(fold)
        .filter(|t| !last.is_empty() && t.starts_with(&last))
        .collect();
    completions.sort_unstable();
    completions.dedup();
    if completions.is_empty() {
        return None;
    }
    let quote = |w: &str| format!("\"{}\"", w.replace('"', "\"\""));
    let mut q: Vec<String> = rest.iter().map(|w| quote(w)).collect();
    let alternatives: Vec<String> = completions.iter().map(|t| quote(t)).collect();
    q.push(format!("({})", alternatives.join(" OR ")));
    // FTS5 wants an explicit AND before a parenthesized group.
    Some(q.join(" AND "))
}

/// Lower case without accents, as the FTS tokenizer compares.
fn fold(s: &str) -> String {
    use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};
    s.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

fn kind(s: &str) -> ChannelKind {
    ChannelKind::parse(s).unwrap_or(ChannelKind::Api)
}

#[cfg(test)]
mod tests {
    use super::fts_query;

    #[test]
    fn snippet_queries_use_the_words_the_prefix_completes() {
        use super::exact_query;
        assert_eq!(
            exact_query("late ord", "Where is my Order? Orders 2 and ORDERED"),
            Some("\"late\" AND (\"order\" OR \"ordered\" OR \"orders\")".into())
        );
        assert_eq!(
            exact_query("mull", "Frau Müller"),
            Some("(\"muller\")".into())
        );
        assert_eq!(exact_query("zzz", "nothing here"), None);
        assert_eq!(exact_query("", "x"), None);
    }

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
