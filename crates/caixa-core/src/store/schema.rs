//! Versioned migrations. A shipped migration is never edited: add a new one.

use rusqlite_migration::{Migrations, M};

pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(V1),
        M::up(V2),
        M::up(V3),
        M::up(V4),
        M::up(V5),
        M::up(V6),
        M::up(V7),
        M::up(V8),
        M::up(V9),
        M::up(V10),
        M::up(V11),
        M::up(V12),
    ])
}

const V1: &str = r#"
CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE inboxes (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    settings TEXT NOT NULL DEFAULT '{}',
    -- Reference into the OS keychain; the secret itself never lives here.
    secret_ref TEXT,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    email TEXT,
    phone TEXT,
    created_at INTEGER NOT NULL
) STRICT;

-- How one contact is known in one inbox (visitor token, API identifier, e-mail address…).
CREATE TABLE contact_identities (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    inbox_id INTEGER NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    source_id TEXT NOT NULL,
    UNIQUE (inbox_id, source_id)
) STRICT;
CREATE INDEX contact_identities_contact ON contact_identities(contact_id);

CREATE TABLE conversations (
    id INTEGER PRIMARY KEY,
    inbox_id INTEGER NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts(id),
    -- The channel's thread key (visitor token, API contact identifier, …).
    source_id TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    assignee TEXT,
    priority TEXT NOT NULL DEFAULT 'none',
    unread_count INTEGER NOT NULL DEFAULT 0,
    last_activity_at INTEGER NOT NULL,
    preview TEXT NOT NULL DEFAULT '',
    preview_kind TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (inbox_id, source_id)
) STRICT;
-- Keyset pagination, newest first, one index per filter so every list query is an index walk.
CREATE INDEX conversations_activity ON conversations(last_activity_at DESC, id DESC);
CREATE INDEX conversations_status_activity ON conversations(status, last_activity_at DESC, id DESC);
CREATE INDEX conversations_inbox_activity ON conversations(inbox_id, last_activity_at DESC, id DESC);
CREATE INDEX conversations_inbox_status_activity ON conversations(inbox_id, status, last_activity_at DESC, id DESC);
CREATE INDEX conversations_unread_activity ON conversations(last_activity_at DESC, id DESC) WHERE unread_count > 0;
CREATE INDEX conversations_contact ON conversations(contact_id);

CREATE TABLE labels (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    color TEXT NOT NULL DEFAULT '#888888'
) STRICT;

-- Denormalized last_activity_at keeps label filters an index walk too.
CREATE TABLE conversation_labels (
    label_id INTEGER NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    last_activity_at INTEGER NOT NULL,
    PRIMARY KEY (label_id, conversation_id)
) STRICT;
CREATE INDEX conversation_labels_activity ON conversation_labels(label_id, last_activity_at DESC, conversation_id DESC);
CREATE INDEX conversation_labels_conversation ON conversation_labels(conversation_id);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    inbox_id INTEGER NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    -- The provider's id; NULL until an outgoing message is accepted by the provider.
    source_id TEXT,
    kind TEXT NOT NULL,
    content TEXT NOT NULL,
    sender_name TEXT,
    delivery TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (inbox_id, source_id)
) STRICT;
CREATE INDEX messages_conversation ON messages(conversation_id, id);
CREATE INDEX messages_outbox ON messages(next_attempt_at) WHERE delivery = 'queued';

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    mime_type TEXT NOT NULL DEFAULT 'application/octet-stream',
    size INTEGER NOT NULL DEFAULT 0,
    -- Content address (sha256 hex) of the file under the data dir's attachments/.
    sha256 TEXT NOT NULL
) STRICT;
CREATE INDEX attachments_message ON attachments(message_id);

CREATE VIRTUAL TABLE messages_fts USING fts5(
    content, content='messages', content_rowid='id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
    WHEN new.kind IN ('incoming', 'outgoing', 'note') BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
    WHEN old.kind IN ('incoming', 'outgoing', 'note') BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages
    WHEN old.kind IN ('incoming', 'outgoing', 'note') BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;

CREATE VIRTUAL TABLE contacts_fts USING fts5(
    name, email, phone, content='contacts', content_rowid='id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_fts(rowid, name, email, phone) VALUES (new.id, new.name, new.email, new.phone);
END;
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_fts(contacts_fts, rowid, name, email, phone) VALUES ('delete', old.id, old.name, old.email, old.phone);
END;
CREATE TRIGGER contacts_fts_update AFTER UPDATE ON contacts BEGIN
    INSERT INTO contacts_fts(contacts_fts, rowid, name, email, phone) VALUES ('delete', old.id, old.name, old.email, old.phone);
    INSERT INTO contacts_fts(rowid, name, email, phone) VALUES (new.id, new.name, new.email, new.phone);
END;
"#;

/// E-mail: per-folder sync cursors and the RFC 5322 side of each mail message.
const V2: &str = r#"
-- Where incremental sync resumes. Written in the same transaction as the messages it covers.
CREATE TABLE email_folders (
    inbox_id INTEGER NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    uid_validity INTEGER NOT NULL,
    -- Every UID below this has been stored (or skipped with a logged reason).
    uid_next INTEGER NOT NULL,
    highest_modseq INTEGER,
    PRIMARY KEY (inbox_id, name)
) STRICT;

CREATE TABLE email_messages (
    message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    inbox_id INTEGER NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    -- Message-ID without angle brackets; threading looks replies up by it.
    rfc_message_id TEXT NOT NULL,
    subject TEXT,
    from_addr TEXT,
    -- JSON arrays of addresses.
    to_addrs TEXT NOT NULL DEFAULT '[]',
    cc_addrs TEXT NOT NULL DEFAULT '[]',
    in_reply_to TEXT,
    -- Space-separated Message-IDs, oldest first, as in the References header.
    refs TEXT,
    -- HTML body as received: untrusted, sanitized on every display (never rendered as stored).
    html TEXT,
    folder TEXT,
    uid INTEGER,
    auto_reply INTEGER NOT NULL DEFAULT 0,
    -- \Seen on the server (read in Caixa or in another mail client).
    seen INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX email_messages_rfc_id ON email_messages(inbox_id, rfc_message_id);

-- Every Message-ID a mail points to (In-Reply-To, References). Sync stores newest first, so a
-- reply is often stored before what it answers: this finds the thread from either side.
CREATE TABLE email_refs (
    inbox_id INTEGER NOT NULL,
    ref_id TEXT NOT NULL,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    PRIMARY KEY (inbox_id, ref_id, message_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX email_refs_message ON email_refs(message_id);
CREATE INDEX email_messages_folder_uid ON email_messages(inbox_id, folder, uid);

-- Inline (cid:) parts are attachments too; this finds them from the HTML.
ALTER TABLE attachments ADD COLUMN content_id TEXT;

-- Senders whose remote images the agent allowed.
CREATE TABLE email_trusted_senders (
    inbox_id INTEGER NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    PRIMARY KEY (inbox_id, address)
) STRICT;
"#;

/// V3: very large mail attachments stay on the server until opened.
const V3: &str = r#"
-- Where to fetch a file not downloaded yet (JSON: folder, uid_validity, uid, section,
-- encoding). While set, sha256 is '' and the file is not on disk.
ALTER TABLE attachments ADD COLUMN remote TEXT;
"#;

/// V4: where each polling channel left off (Telegram's update offset, …), written in the same
/// transaction as the messages it covers.
const V4: &str = r#"
CREATE TABLE channel_cursors (
    inbox_id INTEGER NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (inbox_id, name)
) STRICT, WITHOUT ROWID;

-- When the customer last wrote: channels with a reply window (WhatsApp: 24 h) count from it.
ALTER TABLE conversations ADD COLUMN last_incoming_at INTEGER;
UPDATE conversations SET last_incoming_at =
    (SELECT max(created_at) FROM messages m WHERE m.conversation_id = conversations.id
       AND m.kind = 'incoming');
"#;

/// V5: conversation actions: snooze until a time (NULL while snoozed = until the customer
/// replies) and mute (incoming messages no longer reopen it).
const V5: &str = r#"
ALTER TABLE conversations ADD COLUMN snoozed_until INTEGER;
ALTER TABLE conversations ADD COLUMN muted INTEGER NOT NULL DEFAULT 0;
CREATE INDEX conversations_snooze_due ON conversations(snoozed_until)
    WHERE snoozed_until IS NOT NULL;
"#;

/// V6: canned responses, inserted in the reply box by `/shortcode`.
const V6: &str = r#"
CREATE TABLE canned_responses (
    id INTEGER PRIMARY KEY,
    short_code TEXT NOT NULL UNIQUE,
    content TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
"#;

/// V7: macros, named ordered lists of conversation actions (steps as JSON).
const V7: &str = r#"
CREATE TABLE macros (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    steps TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
"#;

/// V8: automation rules (conditions and actions as JSON, run in `position` order), per-inbox
/// greeting/business hours/chatbot settings, and messages written by the bot.
const V8: &str = r#"
CREATE TABLE automation_rules (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    enabled INTEGER NOT NULL,
    event TEXT NOT NULL,
    conditions TEXT NOT NULL,
    actions TEXT NOT NULL,
    position INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE inbox_bots (
    inbox_id INTEGER PRIMARY KEY REFERENCES inboxes(id) ON DELETE CASCADE,
    settings TEXT NOT NULL
) STRICT;

ALTER TABLE messages ADD COLUMN by_bot INTEGER NOT NULL DEFAULT 0;
"#;

/// V9: replies sent as a WhatsApp template (outside the 24-hour window): which template, in
/// which language, with which parameters. The message's content is the filled-in body.
const V9: &str = r#"
CREATE TABLE message_templates (
    message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    language TEXT NOT NULL,
    parameters TEXT NOT NULL
) STRICT;
"#;

/// V10: e-mail subjects are searchable too.
const V10: &str = r#"
CREATE VIRTUAL TABLE subjects_fts USING fts5(
    subject, tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO subjects_fts(rowid, subject)
    SELECT message_id, subject FROM email_messages WHERE coalesce(subject, '') != '';
CREATE TRIGGER subjects_fts_insert AFTER INSERT ON email_messages
    WHEN coalesce(new.subject, '') != '' BEGIN
    INSERT INTO subjects_fts(rowid, subject) VALUES (new.message_id, new.subject);
END;
CREATE TRIGGER subjects_fts_delete AFTER DELETE ON email_messages BEGIN
    DELETE FROM subjects_fts WHERE rowid = old.message_id;
END;
"#;

/// V11: contacts get notes and custom attributes, and are matched across channels by e-mail
/// (case-insensitive) and phone (digits only).
const V11: &str = r#"
ALTER TABLE contacts ADD COLUMN notes TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
ALTER TABLE contacts ADD COLUMN phone_key TEXT GENERATED ALWAYS AS (
    nullif(replace(replace(replace(replace(replace(replace(phone, '+', ''), ' ', ''), '-', ''),
        '(', ''), ')', ''), '.', ''), '')
) VIRTUAL;
CREATE INDEX contacts_email ON contacts(email COLLATE NOCASE) WHERE email IS NOT NULL;
CREATE INDEX contacts_phone_key ON contacts(phone_key) WHERE phone_key IS NOT NULL;
"#;

/// V12: every status change with its time, for reports (resolved counts, resolution times).
/// Written by a trigger, so no path that changes a status can forget it.
const V12: &str = r#"
CREATE TABLE status_changes (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    at INTEGER NOT NULL
) STRICT;
CREATE INDEX status_changes_status_at ON status_changes(status, at);
CREATE TRIGGER conversations_status_change AFTER UPDATE OF status ON conversations
    WHEN new.status IS NOT old.status BEGIN
    INSERT INTO status_changes (conversation_id, status, at)
        VALUES (new.id, new.status, CAST(unixepoch('subsec') * 1000 AS INTEGER));
END;
CREATE INDEX messages_kind_created ON messages(kind, created_at);
CREATE INDEX conversations_created ON conversations(created_at);
"#;

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        super::migrations().validate().unwrap();
    }
}
