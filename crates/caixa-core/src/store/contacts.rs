//! The `contacts` and `contact_identities` tables.

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::model::{
    ChannelKind, Contact, ContactChannel, ContactId, ContactInput, ContactSummary, InboxId,
};

/// What a channel knows about the person writing.
#[derive(Debug, Clone, Default)]
pub struct ContactInfo<'a> {
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
}

/// Finds the contact known in `inbox_id` as `source_id`; a new identity joins the contact with
/// the same e-mail or phone, else a new contact is made. Fills in details the channel now gives
/// and the contact lacked; never erases any.
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
    // Known by the same e-mail or phone from another channel: the same person.
    let existing = match existing {
        Some(id) => Some(id),
        None => {
            let same = matching(conn, info.email, info.phone)?;
            if let Some(id) = same {
                conn.prepare_cached(
                    "INSERT INTO contact_identities (contact_id, inbox_id, source_id)
                     VALUES (?1, ?2, ?3)",
                )?
                .execute(params![id, inbox_id, source_id])?;
            }
            same
        }
    };
    if let Some(id) = existing {
        // A renamed account renames a contact known on this channel only; a person known on
        // several channels (or edited by an agent) keeps their name. E-mail and phone are
        // only filled in, never replaced.
        conn.prepare_cached(
            "UPDATE contacts SET
                name = CASE WHEN ?2 <> '' AND name <> ?2 AND (name = '' OR
                    (SELECT count(*) FROM contact_identities WHERE contact_id = ?1) = 1)
                    THEN ?2 ELSE name END,
                email = coalesce(email, ?3), phone = coalesce(phone, ?4)
             WHERE id = ?1 AND (?2 <> '' AND name <> ?2
                                OR email IS NULL AND ?3 IS NOT NULL
                                OR phone IS NULL AND ?4 IS NOT NULL)",
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

/// Digits only: how phones are compared (`+55 (11) 98765-4321` = `5511987654321`). Matches
/// the `phone_key` column.
pub fn phone_key(phone: &str) -> Option<String> {
    let key: String = phone
        .chars()
        .filter(|c| !matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'))
        .collect();
    (!key.is_empty()).then_some(key)
}

/// The oldest contact with this e-mail (any case) or phone, if any.
fn matching(
    conn: &Connection,
    email: Option<&str>,
    phone: Option<&str>,
) -> Result<Option<ContactId>> {
    let email = email.map(str::trim).filter(|e| !e.is_empty());
    let phone = phone.and_then(phone_key);
    if email.is_none() && phone.is_none() {
        return Ok(None);
    }
    Ok(conn
        .prepare_cached(
            "SELECT id FROM contacts
             WHERE (?1 IS NOT NULL AND email = ?1 COLLATE NOCASE)
                OR (?2 IS NOT NULL AND phone_key = ?2)
             ORDER BY id LIMIT 1",
        )?
        .query_row(params![email, phone], |r| r.get(0))
        .optional()?)
}

const COLUMNS: &str = "c.id, c.name, c.email, c.phone, c.notes, c.attributes";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Contact> {
    let attributes: String = r.get(5)?;
    Ok(Contact {
        id: r.get(0)?,
        name: r.get(1)?,
        email: r.get(2)?,
        phone: r.get(3)?,
        notes: r.get(4)?,
        attributes: serde_json::from_str(&attributes).unwrap_or_default(),
    })
}

pub fn get(conn: &Connection, id: ContactId) -> Result<Contact> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM contacts c WHERE c.id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or(Error::NotFound("contact"))
}

/// Contacts whose name, e-mail or phone contains `query` (all when empty), most recently
/// active first.
pub fn list(
    conn: &Connection,
    query: &str,
    limit: u32,
    offset: u32,
) -> Result<Vec<ContactSummary>> {
    let pattern = format!("%{}%", query.trim().replace(['%', '_'], ""));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS}, count(v.id), group_concat(DISTINCT i.kind), max(v.last_activity_at)
         FROM contacts c
         LEFT JOIN conversations v ON v.contact_id = c.id
         LEFT JOIN inboxes i ON i.id = v.inbox_id
         WHERE c.name LIKE ?1 OR c.email LIKE ?1 OR c.phone LIKE ?1
         GROUP BY c.id
         ORDER BY max(v.last_activity_at) DESC NULLS LAST, c.id DESC
         LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt.query_map(params![pattern, limit.clamp(1, 500), offset], |r| {
        let kinds: Option<String> = r.get(7)?;
        Ok(ContactSummary {
            contact: from_row(r)?,
            conversation_count: r.get(6)?,
            channels: kinds
                .unwrap_or_default()
                .split(',')
                .filter_map(ChannelKind::parse)
                .collect(),
            last_activity_at: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Where the contact is known: one entry per inbox identity.
pub fn channels(conn: &Connection, id: ContactId) -> Result<Vec<ContactChannel>> {
    let mut stmt = conn.prepare_cached(
        "SELECT i.id, i.name, i.kind, ci.source_id FROM contact_identities ci
         JOIN inboxes i ON i.id = ci.inbox_id WHERE ci.contact_id = ?1 ORDER BY ci.id",
    )?;
    let rows = stmt.query_map([id], |r| {
        let kind: String = r.get(2)?;
        Ok(ContactChannel {
            inbox_id: r.get(0)?,
            inbox_name: r.get(1)?,
            channel: ChannelKind::parse(&kind).unwrap_or(ChannelKind::Api),
            handle: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn update(conn: &Connection, id: ContactId, c: &ContactInput) -> Result<()> {
    let attributes =
        serde_json::to_string(&c.attributes).map_err(|e| Error::Internal(e.to_string()))?;
    let n = conn
        .prepare_cached(
            "UPDATE contacts SET name = ?2, email = ?3, phone = ?4, notes = ?5, attributes = ?6
             WHERE id = ?1",
        )?
        .execute(params![id, c.name, c.email, c.phone, c.notes, attributes])?;
    if n == 0 {
        return Err(Error::NotFound("contact"));
    }
    Ok(())
}

/// Moves everything of `other` to `keep` (identities, conversations; details `keep` lacks;
/// notes appended; attributes `keep` lacks) and deletes `other`. Returns the conversations
/// that moved.
pub fn merge(conn: &Connection, keep: ContactId, other: ContactId) -> Result<Vec<i64>> {
    let (k, o) = (get(conn, keep)?, get(conn, other)?);
    let moved: Vec<i64> = conn
        .prepare_cached("SELECT id FROM conversations WHERE contact_id = ?1")?
        .query_map([other], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    conn.prepare_cached("UPDATE contact_identities SET contact_id = ?1 WHERE contact_id = ?2")?
        .execute(params![keep, other])?;
    conn.prepare_cached("UPDATE conversations SET contact_id = ?1 WHERE contact_id = ?2")?
        .execute(params![keep, other])?;
    let notes = match (k.notes.trim().is_empty(), o.notes.trim().is_empty()) {
        (_, true) => k.notes.clone(),
        (true, false) => o.notes.clone(),
        (false, false) => format!("{}\n\n{}", k.notes.trim_end(), o.notes.trim()),
    };
    let mut attributes = o.attributes;
    attributes.extend(k.attributes);
    conn.prepare_cached("DELETE FROM contacts WHERE id = ?1")?
        .execute([other])?;
    update(
        conn,
        keep,
        &ContactInput {
            name: if k.name.trim().is_empty() {
                o.name
            } else {
                k.name
            },
            email: k.email.or(o.email),
            phone: k.phone.or(o.phone),
            notes,
            attributes,
        },
    )?;
    Ok(moved)
}

/// Pairs of contacts with exactly the same e-mail (any case) or phone (digits).
pub fn merge_suggestions(conn: &Connection) -> Result<Vec<(ContactId, ContactId, &'static str)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.id, b.id, 'email' FROM contacts a
           JOIN contacts b ON b.email = a.email COLLATE NOCASE AND b.id > a.id
           WHERE a.email IS NOT NULL
         UNION
         SELECT a.id, b.id, 'phone' FROM contacts a
           JOIN contacts b ON b.phone_key = a.phone_key AND b.id > a.id
           WHERE a.phone_key IS NOT NULL
         LIMIT 200",
    )?;
    let rows = stmt.query_map([], |r| {
        let reason: String = r.get(2)?;
        Ok((
            r.get(0)?,
            r.get(1)?,
            if reason == "email" { "email" } else { "phone" },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
