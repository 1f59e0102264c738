//! The `inboxes` table.

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::error::{Error, Result};
use crate::model::{ChannelKind, Inbox, InboxId, InboxSettings};

const COLUMNS: &str = "id, kind, name, token, settings, created_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<(Inbox, String)> {
    let kind: String = r.get(1)?;
    let settings: String = r.get(4)?;
    let kind = ChannelKind::parse(&kind).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            1,
            rusqlite::types::Type::Text,
            format!("unknown inbox kind {kind}").into(),
        )
    })?;
    let parsed: InboxSettings = serde_json::from_str(&settings).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok((
        Inbox {
            id: r.get(0)?,
            kind,
            name: r.get(2)?,
            token: r.get(3)?,
            settings: parsed,
            created_at: r.get(5)?,
        },
        settings,
    ))
}

pub fn list(conn: &Connection) -> Result<Vec<Inbox>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM inboxes ORDER BY id"))?;
    let rows = stmt.query_map([], |r| from_row(r).map(|(i, _)| i))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn get(conn: &Connection, id: InboxId) -> Result<Inbox> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM inboxes WHERE id = ?1"),
        [id],
        |r| from_row(r).map(|(i, _)| i),
    )
    .optional()?
    .ok_or(Error::NotFound("inbox"))
}

pub fn by_token(conn: &Connection, token: &str) -> Result<Option<Inbox>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM inboxes WHERE token = ?1"),
            [token],
            |r| from_row(r).map(|(i, _)| i),
        )
        .optional()?)
}

pub fn secret_ref(conn: &Connection, id: InboxId) -> Result<Option<String>> {
    conn.prepare_cached("SELECT secret_ref FROM inboxes WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?
        .ok_or(Error::NotFound("inbox"))
}

pub fn insert(
    conn: &Connection,
    name: &str,
    token: &str,
    settings: &InboxSettings,
    secret_ref: Option<&str>,
    now: i64,
) -> Result<InboxId> {
    let json = serde_json::to_string(settings).map_err(|e| Error::Internal(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO inboxes (kind, name, token, settings, secret_ref, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        settings.kind().as_str(),
        name,
        token,
        json,
        secret_ref,
        now
    ])?;
    Ok(conn.last_insert_rowid())
}

pub fn update(conn: &Connection, id: InboxId, name: &str, settings: &InboxSettings) -> Result<()> {
    let json = serde_json::to_string(settings).map_err(|e| Error::Internal(e.to_string()))?;
    let n = conn
        .prepare_cached("UPDATE inboxes SET name = ?2, settings = ?3 WHERE id = ?1")?
        .execute(params![id, name, json])?;
    if n == 0 {
        return Err(Error::NotFound("inbox"));
    }
    Ok(())
}

/// Deletes the inbox with its conversations, messages and identities; contacts left without any
/// conversation go too. Returns the secret reference so the caller can drop it from the keychain.
pub fn delete(conn: &Connection, id: InboxId) -> Result<Option<String>> {
    let secret = secret_ref(conn, id)?;
    conn.prepare_cached("DELETE FROM inboxes WHERE id = ?1")?
        .execute([id])?;
    conn.prepare_cached("DELETE FROM contacts WHERE NOT EXISTS (SELECT 1 FROM conversations c WHERE c.contact_id = contacts.id)
           AND NOT EXISTS (SELECT 1 FROM contact_identities i WHERE i.contact_id = contacts.id)")?.execute([],
    )?;
    Ok(secret)
}
