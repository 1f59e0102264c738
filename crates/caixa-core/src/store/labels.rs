//! Labels and which conversations carry them.

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::model::{ConversationId, Label};

pub fn list(conn: &Connection) -> Result<Vec<Label>> {
    let mut stmt = conn.prepare_cached(
        "SELECT l.id, l.name, l.color,
            (SELECT count(*) FROM conversation_labels cl WHERE cl.label_id = l.id)
         FROM labels l ORDER BY l.name COLLATE NOCASE",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Label {
            id: r.get(0)?,
            name: r.get(1)?,
            color: r.get(2)?,
            conversations: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Creates a label, or returns the existing one with that name.
pub fn ensure(conn: &Connection, name: &str, color: Option<&str>) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO labels (name, color) VALUES (?1, coalesce(?2, '#888888'))
         ON CONFLICT (name) DO NOTHING",
    )?
    .execute(params![name, color])?;
    Ok(conn
        .prepare_cached("SELECT id FROM labels WHERE name = ?1")?
        .query_row([name], |r| r.get(0))?)
}

pub fn update(conn: &Connection, id: i64, name: &str, color: &str) -> Result<()> {
    let taken: Option<i64> = conn
        .prepare_cached("SELECT id FROM labels WHERE name = ?1 AND id <> ?2")?
        .query_row(params![name, id], |r| r.get(0))
        .optional()?;
    if taken.is_some() {
        return Err(Error::field("name", "Another label already has this name."));
    }
    let n = conn
        .prepare_cached("UPDATE labels SET name = ?2, color = ?3 WHERE id = ?1")?
        .execute(params![id, name, color])?;
    if n == 0 {
        return Err(Error::NotFound("label"));
    }
    Ok(())
}

/// Deletes a label (and takes it off every conversation); returns those conversations.
pub fn delete(conn: &Connection, id: i64) -> Result<Vec<ConversationId>> {
    let mut stmt =
        conn.prepare_cached("SELECT conversation_id FROM conversation_labels WHERE label_id = ?1")?;
    let ids = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let n = conn
        .prepare_cached("DELETE FROM labels WHERE id = ?1")?
        .execute([id])?;
    if n == 0 {
        return Err(Error::NotFound("label"));
    }
    Ok(ids)
}

/// Adds the label (created if new); false when the conversation already had it.
pub fn add_to(conn: &Connection, conversation: ConversationId, name: &str) -> Result<bool> {
    let label = ensure(conn, name, None)?;
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO conversation_labels (label_id, conversation_id, last_activity_at)
             SELECT ?1, id, last_activity_at FROM conversations WHERE id = ?2",
        )?
        .execute(params![label, conversation])?;
    Ok(n > 0)
}

/// Removes the label; false when the conversation did not have it.
pub fn remove_from(conn: &Connection, conversation: ConversationId, name: &str) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "DELETE FROM conversation_labels WHERE conversation_id = ?1
               AND label_id = (SELECT id FROM labels WHERE name = ?2)",
        )?
        .execute(params![conversation, name])?;
    Ok(n > 0)
}
