//! Per-inbox positions of polling channels (e.g. Telegram's update offset). Written in the
//! transaction that stores the messages they cover, so a crash repeats nothing and loses nothing.

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::Result;
use crate::model::InboxId;

pub fn get(conn: &Connection, inbox_id: InboxId, name: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM channel_cursors WHERE inbox_id = ?1 AND name = ?2")?
        .query_row(params![inbox_id, name], |r| r.get(0))
        .optional()?)
}

pub fn set(conn: &Connection, inbox_id: InboxId, name: &str, value: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO channel_cursors (inbox_id, name, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (inbox_id, name) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![inbox_id, name, value])?;
    Ok(())
}
