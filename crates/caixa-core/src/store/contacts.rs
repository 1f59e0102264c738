//! The `contacts` and `contact_identities` tables.

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::model::{Contact, ContactId, InboxId};

/// What a channel knows about the person writing.
#[derive(Debug, Clone, Default)]
pub struct ContactInfo<'a> {
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
}

/// Finds the contact known in `inbox_id` as `source_id`, creating contact and identity if new.
/// Fills in details the channel now gives and the contact lacked; never erases any.
pub fn upsert_identity(
    conn: &Connection,
    inbox_id: InboxId,
    source_id: &str,
    info: &ContactInfo<'_>,
    now: i64,
) -> Result<ContactId> {
    let existing: Option<ContactId> = conn
        .prepare_cached(
            "SELECT contact_id FROM contact_identities WHERE inbox_id = ?1 AND source_id = ?2",
        )?
        .query_row(params![inbox_id, source_id], |r| r.get(0))
        .optional()?;
    if let Some(id) = existing {
        conn.prepare_cached(
            "UPDATE contacts SET
                name = CASE WHEN ?2 <> '' AND name <> ?2 THEN ?2 ELSE name END,
                email = coalesce(?3, email), phone = coalesce(?4, phone)
             WHERE id = ?1 AND (name <> ?2 AND ?2 <> '' OR ?3 IS NOT NULL AND email IS NOT ?3
                                OR ?4 IS NOT NULL AND phone IS NOT ?4)",
        )?
        .execute(params![id, info.name, info.email, info.phone])?;
        return Ok(id);
    }
    conn.prepare_cached(
        "INSERT INTO contacts (name, email, phone, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![info.name, info.email, info.phone, now])?;
    let contact = conn.last_insert_rowid();
    conn.prepare_cached(
        "INSERT INTO contact_identities (contact_id, inbox_id, source_id) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![contact, inbox_id, source_id])?;
    Ok(contact)
}

pub fn get(conn: &Connection, id: ContactId) -> Result<Contact> {
    conn.prepare_cached("SELECT id, name, email, phone FROM contacts WHERE id = ?1")?
        .query_row([id], |r| {
            Ok(Contact {
                id: r.get(0)?,
                name: r.get(1)?,
                email: r.get(2)?,
                phone: r.get(3)?,
            })
        })
        .optional()?
        .ok_or(Error::NotFound("contact"))
}
