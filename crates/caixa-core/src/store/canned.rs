//! The `canned_responses` table.

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::model::CannedResponse;

pub fn list(conn: &Connection) -> Result<Vec<CannedResponse>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, short_code, content FROM canned_responses ORDER BY short_code",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(CannedResponse {
            id: r.get(0)?,
            short_code: r.get(1)?,
            content: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn get(conn: &Connection, id: i64) -> Result<CannedResponse> {
    conn.prepare_cached("SELECT id, short_code, content FROM canned_responses WHERE id = ?1")?
        .query_row([id], |r| {
            Ok(CannedResponse {
                id: r.get(0)?,
                short_code: r.get(1)?,
                content: r.get(2)?,
            })
        })
        .optional()?
        .ok_or(Error::NotFound("canned response"))
}

fn code_taken(conn: &Connection, code: &str, except: Option<i64>) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT id FROM canned_responses WHERE short_code = ?1 AND id IS NOT ?2")?
        .query_row(params![code, except], |r| r.get::<_, i64>(0))
        .optional()?
        .is_some())
}

pub fn insert(conn: &Connection, code: &str, content: &str, now: i64) -> Result<i64> {
    if code_taken(conn, code, None)? {
        return Err(Error::field(
            "short_code",
            format!("/{code} is already in use."),
        ));
    }
    conn.prepare_cached(
        "INSERT INTO canned_responses (short_code, content, created_at) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![code, content, now])?;
    Ok(conn.last_insert_rowid())
}

pub fn update(conn: &Connection, id: i64, code: &str, content: &str) -> Result<()> {
    if code_taken(conn, code, Some(id))? {
        return Err(Error::field(
            "short_code",
            format!("/{code} is already in use."),
        ));
    }
    let n = conn
        .prepare_cached("UPDATE canned_responses SET short_code = ?2, content = ?3 WHERE id = ?1")?
        .execute(params![id, code, content])?;
    if n == 0 {
        return Err(Error::NotFound("canned response"));
    }
    Ok(())
}

pub fn delete(conn: &Connection, id: i64) -> Result<()> {
    let n = conn
        .prepare_cached("DELETE FROM canned_responses WHERE id = ?1")?
        .execute([id])?;
    if n == 0 {
        return Err(Error::NotFound("canned response"));
    }
    Ok(())
}
