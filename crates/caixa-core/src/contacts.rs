//! Contacts: the people behind conversations, one per person across channels. A new identity
//! with the e-mail or phone of a known contact joins that contact (see
//! `store::contacts::upsert_identity`); other duplicates are suggested and merged by an agent.

use crate::caixa::Caixa;
use crate::error::{Error, Result};
use crate::model::*;
use crate::store::{contacts, conversations};

const MAX_ATTRIBUTES: usize = 50;

impl Caixa {
    /// Contacts matching `query` (name, e-mail or phone; all when empty), most recently active
    /// first.
    pub async fn list_contacts(
        &self,
        query: &str,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<ContactSummary>> {
        let query = query.to_string();
        self.store()
            .read(move |c| contacts::list(c, &query, limit, offset))
            .await
    }

    /// The contact, where they are known and their conversations.
    pub async fn contact_details(&self, id: ContactId) -> Result<ContactDetails> {
        self.store()
            .read(move |c| {
                let contact = contacts::get(c, id)?;
                let channels = contacts::channels(c, id)?;
                let filter = ConversationFilter {
                    contact_id: Some(id),
                    ..ConversationFilter::default()
                };
                let conversations = conversations::list(c, &filter, None, 500)?.items;
                Ok(ContactDetails {
                    contact,
                    channels,
                    conversations,
                })
            })
            .await
    }

    /// Saves an agent's edit of a contact, after checking it.
    pub async fn update_contact(&self, id: ContactId, input: ContactInput) -> Result<Contact> {
        let input = check(input)?;
        let moved = self
            .store()
            .write(move |tx| {
                contacts::update(tx, id, &input)?;
                conversation_ids(tx, id)
            })
            .await?;
        self.announce(moved);
        self.store().read(move |c| contacts::get(c, id)).await
    }

    /// Merges `other` into `keep`: conversations and channels move, details `keep` lacks are
    /// taken, notes are joined; `other` is gone. Nothing is lost.
    pub async fn merge_contacts(
        &self,
        keep: ContactId,
        other: ContactId,
    ) -> Result<ContactDetails> {
        if keep == other {
            return Err(Error::field("other", "Choose two different contacts."));
        }
        let touched = self
            .store()
            .write(move |tx| {
                contacts::merge(tx, keep, other)?;
                conversation_ids(tx, keep)
            })
            .await?;
        self.announce(touched);
        self.contact_details(keep).await
    }

    /// Contacts that share an e-mail or phone exactly: probably one person each pair.
    pub async fn merge_suggestions(&self) -> Result<Vec<MergeSuggestion>> {
        self.store()
            .read(|c| {
                contacts::merge_suggestions(c)?
                    .into_iter()
                    .map(|(a, b, reason)| {
                        Ok(MergeSuggestion {
                            a: contacts::get(c, a)?,
                            b: contacts::get(c, b)?,
                            reason: reason.to_string(),
                        })
                    })
                    .collect()
            })
            .await
    }

    /// Conversation rows show the contact's name: refresh them, and the contact views.
    fn announce(&self, conversation_ids: Vec<ConversationId>) {
        for conversation_id in conversation_ids {
            self.events()
                .emit(CoreEvent::ConversationChanged { conversation_id });
        }
        self.events().emit(CoreEvent::ContactsChanged);
    }
}

fn conversation_ids(
    conn: &rusqlite::Connection,
    contact: ContactId,
) -> Result<Vec<ConversationId>> {
    Ok(conn
        .prepare_cached("SELECT id FROM conversations WHERE contact_id = ?1")?
        .query_map([contact], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// Trims and checks an edit; errors name the field.
fn check(mut c: ContactInput) -> Result<ContactInput> {
    c.name = c.name.trim().to_string();
    if c.name.is_empty() || c.name.chars().count() > 200 {
        return Err(Error::field(
            "name",
            "Give the contact a name (at most 200 characters).",
        ));
    }
    c.email = c
        .email
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty());
    if let Some(e) = &c.email {
        let valid = e.split_once('@').is_some_and(|(user, domain)| {
            !user.is_empty() && domain.contains('.') && !domain.starts_with('.')
        }) && !e.contains(char::is_whitespace);
        if !valid {
            return Err(Error::field(
                "email",
                "This is not an e-mail address (name@example.com).",
            ));
        }
    }
    c.phone = c
        .phone
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty());
    if let Some(p) = &c.phone {
        let allowed = p
            .chars()
            .all(|ch| ch.is_ascii_digit() || matches!(ch, '+' | ' ' | '-' | '(' | ')' | '.'));
        let digits = p.chars().filter(char::is_ascii_digit).count();
        if !allowed || !(5..=20).contains(&digits) {
            return Err(Error::field(
                "phone",
                "Write the phone with digits, e.g. +55 11 98765-4321.",
            ));
        }
    }
    if c.notes.len() > 64 * 1024 {
        return Err(Error::field("notes", "Notes are limited to 64 KiB."));
    }
    if c.attributes.len() > MAX_ATTRIBUTES {
        return Err(Error::field(
            "attributes",
            format!("At most {MAX_ATTRIBUTES} attributes."),
        ));
    }
    let mut attributes = std::collections::BTreeMap::new();
    for (k, v) in std::mem::take(&mut c.attributes) {
        let k = k.trim().to_string();
        if k.is_empty() || k.chars().count() > 60 || v.chars().count() > 1000 {
            return Err(Error::field(
                "attributes",
                "Each attribute needs a name (up to 60 characters) and a value up to 1,000.",
            ));
        }
        attributes.insert(k, v.trim().to_string());
    }
    c.attributes = attributes;
    Ok(c)
}
