//! The `conversations` table and the unified list.

use rusqlite::{params, Connection, OptionalExtension, Row, ToSql};

use crate::error::{Error, Result};
use crate::model::{
    ChannelKind, ContactId, ConversationFilter, ConversationId, ConversationPage, ConversationRow,
    ConversationStatus, Cursor, InboxId, MessageKind, Priority, StatusCounts,
};

const ROW_SELECT: &str = "SELECT c.id, c.inbox_id, i.name, i.kind, c.contact_id, ct.name, c.status,
        c.assignee, c.priority, c.unread_count, c.last_activity_at, c.preview, c.preview_kind,
        (SELECT group_concat(l.name, char(31)) FROM conversation_labels cl
           JOIN labels l ON l.id = cl.label_id WHERE cl.conversation_id = c.id),
        c.last_incoming_at, c.snoozed_until, c.muted
    FROM conversations c
    JOIN inboxes i ON i.id = c.inbox_id
    JOIN contacts ct ON ct.id = c.contact_id";

fn bad(col: usize, what: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        col,
        rusqlite::types::Type::Text,
        format!("unknown {what} {value}").into(),
    )
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<ConversationRow> {
    let kind: String = r.get(3)?;
    let status: String = r.get(6)?;
    let priority: String = r.get(8)?;
    let preview_kind: Option<String> = r.get(12)?;
    let labels: Option<String> = r.get(13)?;
    Ok(ConversationRow {
        id: r.get(0)?,
        inbox_id: r.get(1)?,
        inbox_name: r.get(2)?,
        channel: ChannelKind::parse(&kind).ok_or_else(|| bad(3, "channel", &kind))?,
        contact_id: r.get(4)?,
        contact_name: r.get(5)?,
        status: ConversationStatus::parse(&status).ok_or_else(|| bad(6, "status", &status))?,
        assignee: r.get(7)?,
        priority: Priority::parse(&priority).ok_or_else(|| bad(8, "priority", &priority))?,
        unread_count: r.get::<_, i64>(9)?.max(0) as u32,
        last_activity_at: r.get(10)?,
        preview: r.get(11)?,
        preview_kind: preview_kind.as_deref().and_then(MessageKind::parse),
        labels: labels
            .map(|s| s.split('\u{1f}').map(str::to_string).collect())
            .unwrap_or_default(),
        reply_window_closes_at: ChannelKind::parse(&kind)
            .and_then(ChannelKind::reply_window_ms)
            .and_then(|w| Some(r.get::<_, Option<i64>>(14).ok()?? + w)),
        snoozed_until: r.get(15)?,
        muted: r.get(16)?,
    })
}

/// One page of the unified list, newest activity first, starting after `cursor`.
pub fn list(
    conn: &Connection,
    filter: &ConversationFilter,
    cursor: Option<Cursor>,
    limit: u32,
) -> Result<ConversationPage> {
    let limit = limit.clamp(1, 500);
    let mut sql = String::from(ROW_SELECT);
    let mut clauses: Vec<&str> = Vec::new();
    let mut args: Vec<Box<dyn ToSql>> = Vec::new();
    if let Some(status) = filter.status {
        clauses.push("c.status = ?");
        args.push(Box::new(status.as_str()));
    }
    if let Some(inbox) = filter.inbox_id {
        clauses.push("c.inbox_id = ?");
        args.push(Box::new(inbox));
    }
    if filter.unread_only {
        clauses.push("c.unread_count > 0");
    }
    if let Some(label) = &filter.label {
        clauses.push(
            "c.id IN (SELECT cl.conversation_id FROM conversation_labels cl
                      JOIN labels l ON l.id = cl.label_id WHERE l.name = ?)",
        );
        args.push(Box::new(label.clone()));
    }
    if let Some(agent) = &filter.assignee {
        clauses.push("c.assignee = ?");
        args.push(Box::new(agent.clone()));
    }
    if let Some(contact) = filter.contact_id {
        clauses.push("c.contact_id = ?");
        args.push(Box::new(contact));
    }
    if let Some(cur) = cursor {
        clauses.push("(c.last_activity_at, c.id) < (?, ?)");
        args.push(Box::new(cur.last_activity_at));
        args.push(Box::new(cur.id));
    }
    if !clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&clauses.join(" AND "));
    }
    sql.push_str(" ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ?");
    args.push(Box::new(limit as i64 + 1));

    let mut stmt = conn.prepare_cached(&sql)?;
    let params: Vec<&dyn ToSql> = args.iter().map(|b| b.as_ref()).collect();
    let mut items = stmt
        .query_map(params.as_slice(), from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|c| Cursor {
            last_activity_at: c.last_activity_at,
            id: c.id,
        })
    } else {
        None
    };
    Ok(ConversationPage { items, next_cursor })
}

pub fn get(conn: &Connection, id: ConversationId) -> Result<ConversationRow> {
    let mut stmt = conn.prepare_cached(&format!("{ROW_SELECT} WHERE c.id = ?1"))?;
    stmt.query_row([id], from_row)
        .optional()?
        .ok_or(Error::NotFound("conversation"))
}

pub fn counts(conn: &Connection, inbox_id: Option<InboxId>) -> Result<StatusCounts> {
    let mut counts = StatusCounts::default();
    let (sql, arg): (&str, Option<InboxId>) = match inbox_id {
        Some(id) => (
            "SELECT status, count(*), sum(unread_count > 0) FROM conversations WHERE inbox_id = ?1 GROUP BY status",
            Some(id),
        ),
        None => (
            "SELECT status, count(*), sum(unread_count > 0) FROM conversations GROUP BY status",
            None,
        ),
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = match arg {
        Some(id) => stmt.query([id])?,
        None => stmt.query([])?,
    };
    while let Some(r) = rows.next()? {
        let status: String = r.get(0)?;
        let n = r.get::<_, i64>(1)? as u32;
        let unread = r.get::<_, Option<i64>>(2)?.unwrap_or(0) as u32;
        match ConversationStatus::parse(&status) {
            Some(ConversationStatus::Open) => counts.open = n,
            Some(ConversationStatus::Pending) => counts.pending = n,
            Some(ConversationStatus::Snoozed) => counts.snoozed = n,
            Some(ConversationStatus::Resolved) => counts.resolved = n,
            None => {}
        }
        counts.all += n;
        counts.unread += unread;
    }
    Ok(counts)
}

/// Finds the conversation for a channel thread key, creating it (open) if there is none.
/// Returns the id and whether it was created.
pub fn upsert(
    conn: &Connection,
    inbox_id: InboxId,
    contact_id: ContactId,
    source_id: &str,
    now: i64,
) -> Result<(ConversationId, bool)> {
    if let Some(id) = conn
        .prepare_cached("SELECT id FROM conversations WHERE inbox_id = ?1 AND source_id = ?2")?
        .query_row(params![inbox_id, source_id], |r| r.get(0))
        .optional()?
    {
        return Ok((id, false));
    }
    conn.prepare_cached(
        "INSERT INTO conversations (inbox_id, contact_id, source_id, last_activity_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?4)",
    )?
    .execute(params![inbox_id, contact_id, source_id, now])?;
    Ok((conn.last_insert_rowid(), true))
}

/// The conversation's channel thread key and inbox, for channels that reply by thread.
pub fn source(conn: &Connection, id: ConversationId) -> Result<(InboxId, String)> {
    conn.prepare_cached("SELECT inbox_id, source_id FROM conversations WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or(Error::NotFound("conversation"))
}

/// Moves the conversation to the top of the list with a new preview. Incoming messages also
/// count as unread and reopen a resolved or snoozed conversation.
/// Records new activity. An incoming message counts as unread and, when `reopen`, reopens a
/// resolved or snoozed conversation (auto-replies do not).
pub fn touch(
    conn: &Connection,
    id: ConversationId,
    kind: MessageKind,
    preview: &str,
    at: i64,
    reopen: bool,
) -> Result<()> {
    let preview: String = preview.chars().take(160).collect();
    let incoming = kind == MessageKind::Incoming;
    conn.prepare_cached(
        "UPDATE conversations SET
            last_activity_at = max(last_activity_at, ?2),
            preview = ?3, preview_kind = ?4,
            unread_count = unread_count + ?5,
            status = CASE WHEN ?6 = 1 AND muted = 0 AND status IN ('resolved', 'snoozed')
                          THEN 'open' ELSE status END,
            snoozed_until = CASE WHEN ?6 = 1 AND muted = 0 THEN NULL ELSE snoozed_until END,
            last_incoming_at = CASE WHEN ?5 = 1 THEN max(coalesce(last_incoming_at, 0), ?2)
                                    ELSE last_incoming_at END
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        at,
        preview,
        kind.as_str(),
        incoming as i64,
        (incoming && reopen) as i64
    ])?;
    conn.prepare_cached("UPDATE conversation_labels SET last_activity_at = (SELECT last_activity_at FROM conversations WHERE id = ?1)
         WHERE conversation_id = ?1")?.execute([id],
    )?;
    Ok(())
}

/// When the customer last wrote in this conversation (Unix ms), if ever.
pub fn last_incoming_at(conn: &Connection, id: ConversationId) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT last_incoming_at FROM conversations WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?
        .flatten())
}

/// Sets the status; returns the previous one (or `None` when unchanged).
pub fn set_status(
    conn: &Connection,
    id: ConversationId,
    status: ConversationStatus,
) -> Result<Option<ConversationStatus>> {
    let old: String = conn
        .prepare_cached("SELECT status FROM conversations WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?
        .ok_or(Error::NotFound("conversation"))?;
    if old == status.as_str() {
        return Ok(None);
    }
    conn.prepare_cached(
        "UPDATE conversations SET status = ?2, snoozed_until = NULL WHERE id = ?1",
    )?
    .execute(params![id, status.as_str()])?;
    Ok(ConversationStatus::parse(&old))
}

/// Returns whether anything changed.
pub fn mark_read(conn: &Connection, id: ConversationId) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "UPDATE conversations SET unread_count = 0 WHERE id = ?1 AND unread_count > 0",
        )?
        .execute([id])?
        > 0)
}

/// One incoming message was already read elsewhere (e.g. `\Seen` in another mail client).
pub fn read_one(conn: &Connection, id: ConversationId) -> Result<()> {
    conn.prepare_cached(
        "UPDATE conversations SET unread_count = max(unread_count - 1, 0) WHERE id = ?1",
    )?
    .execute([id])?;
    Ok(())
}

/// Snoozes until `until` (Unix ms), or until the customer replies when `None`.
pub fn snooze(conn: &Connection, id: ConversationId, until: Option<i64>) -> Result<()> {
    let n = conn
        .prepare_cached(
            "UPDATE conversations SET status = 'snoozed', snoozed_until = ?2 WHERE id = ?1",
        )?
        .execute(params![id, until])?;
    found(n)
}

/// Snoozed conversations whose time has come: reopened, returned.
pub fn wake_due(conn: &Connection, now: i64) -> Result<Vec<ConversationId>> {
    let mut stmt = conn.prepare_cached(
        "UPDATE conversations SET status = 'open', snoozed_until = NULL
         WHERE snoozed_until IS NOT NULL AND snoozed_until <= ?1 AND status = 'snoozed'
         RETURNING id",
    )?;
    let ids = stmt.query_map([now], |r| r.get(0))?;
    Ok(ids.collect::<rusqlite::Result<_>>()?)
}

/// When the next snoozed conversation wakes, if any.
pub fn next_wake_at(conn: &Connection) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT min(snoozed_until) FROM conversations
             WHERE snoozed_until IS NOT NULL AND status = 'snoozed'",
        )?
        .query_row([], |r| r.get(0))?)
}

/// Sets the assignee; returns the previous one, or `Err(NotFound)`.
pub fn assign(
    conn: &Connection,
    id: ConversationId,
    agent: Option<&str>,
) -> Result<Option<String>> {
    let old: Option<String> = conn
        .prepare_cached("SELECT assignee FROM conversations WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?
        .ok_or(Error::NotFound("conversation"))?;
    conn.prepare_cached("UPDATE conversations SET assignee = ?2 WHERE id = ?1")?
        .execute(params![id, agent])?;
    Ok(old)
}

pub fn set_priority(conn: &Connection, id: ConversationId, priority: Priority) -> Result<()> {
    let n = conn
        .prepare_cached("UPDATE conversations SET priority = ?2 WHERE id = ?1")?
        .execute(params![id, priority.as_str()])?;
    found(n)
}

pub fn set_muted(conn: &Connection, id: ConversationId, muted: bool) -> Result<()> {
    let n = conn
        .prepare_cached("UPDATE conversations SET muted = ?2 WHERE id = ?1")?
        .execute(params![id, muted])?;
    found(n)
}

pub fn mark_unread(conn: &Connection, id: ConversationId) -> Result<()> {
    let n = conn
        .prepare_cached(
            "UPDATE conversations SET unread_count = max(unread_count, 1) WHERE id = ?1",
        )?
        .execute([id])?;
    found(n)
}

/// Deletes the conversation and its messages from this computer (never on the provider).
pub fn delete(conn: &Connection, id: ConversationId) -> Result<()> {
    let n = conn
        .prepare_cached("DELETE FROM conversations WHERE id = ?1")?
        .execute([id])?;
    found(n)
}

fn found(n: usize) -> Result<()> {
    if n == 0 {
        Err(Error::NotFound("conversation"))
    } else {
        Ok(())
    }
}

/// Recomputes the list preview from the newest message (after a note was edited or deleted).
pub fn refresh_preview(conn: &Connection, id: ConversationId) -> Result<()> {
    conn.prepare_cached(
        "UPDATE conversations SET (preview, preview_kind) = (
             SELECT substr(m.content, 1, 160), m.kind FROM messages m
             WHERE m.conversation_id = ?1 AND m.kind IN ('incoming', 'outgoing', 'note')
             ORDER BY m.id DESC LIMIT 1)
         WHERE id = ?1
           AND EXISTS (SELECT 1 FROM messages WHERE conversation_id = ?1
                         AND kind IN ('incoming', 'outgoing', 'note'))",
    )?
    .execute([id])?;
    Ok(())
}
