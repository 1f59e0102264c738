//! Synthetic data for benchmarks and demos: many conversations and messages, written in large
//! transactions straight through the store functions the app uses.

use rand::seq::IndexedRandom;
use rand::Rng;

use crate::error::Result;
use crate::inbox_config::new_token;
use crate::ingest::{ingest, Incoming};
use crate::model::{ApiSettings, InboxSettings, MessageKind, WebsiteSettings};
use crate::store::contacts::ContactInfo;
use crate::store::{conversations, inboxes, messages, now_ms, Store};

const FIRST: &[&str] = &[
    "Ana", "Bruno", "Carla", "Diego", "Elena", "Fábio", "Giulia", "Hugo", "Inês", "João", "Karin",
    "Luís", "Marta", "Nuno", "Olga", "Paulo", "Rita", "Sofia", "Tiago", "Vera",
];
const LAST: &[&str] = &[
    "Silva", "Santos", "Oliveira", "Souza", "Costa", "Pereira", "Almeida", "Ferreira", "Lima",
    "Gomes", "Müller", "Schmidt", "Rossi", "García",
];
const WORDS: &[&str] = &[
    "order",
    "delivery",
    "refund",
    "invoice",
    "password",
    "account",
    "shipping",
    "package",
    "late",
    "broken",
    "thanks",
    "help",
    "please",
    "pedido",
    "entrega",
    "reembolso",
    "obrigado",
    "ajuda",
    "senha",
    "conta",
    "where",
    "is",
    "my",
    "the",
    "a",
    "when",
    "can",
    "you",
    "check",
    "status",
    "number",
    "today",
    "tomorrow",
    "address",
    "payment",
    "card",
    "error",
    "app",
];

pub struct SeedReport {
    pub conversations: u64,
    pub messages: u64,
    pub seconds: f64,
}

/// Adds `conversations` conversations with `messages` messages spread among them, across two
/// synthetic inboxes, with activity over the last 90 days.
pub fn seed(store: &Store, conversations: u64, messages: u64) -> Result<SeedReport> {
    let started = std::time::Instant::now();
    let now = now_ms();
    let (web, api) = store.write_blocking(|tx| {
        let web = inboxes::insert(
            tx,
            "Seeded website",
            &new_token(),
            &InboxSettings::Website(WebsiteSettings {
                website_url: "https://seed.example".into(),
                welcome_title: "Hi".into(),
                welcome_text: String::new(),
                color: "#1f6feb".into(),
            }),
            None,
            now,
        )?;
        let api = inboxes::insert(
            tx,
            "Seeded API",
            &new_token(),
            &InboxSettings::Api(ApiSettings { webhook_url: None }),
            None,
            now,
        )?;
        Ok((web, api))
    })?;
    let mut rng = rand::rng();
    let per_conv = (messages / conversations.max(1)).max(1);
    let mut written = 0u64;
    let span = 90 * 24 * 3600 * 1000i64;
    let batch = 2_000u64;
    let mut c = 0u64;
    while c < conversations {
        let end = (c + batch).min(conversations);
        store.write_blocking(|tx| {
            for i in c..end {
                let inbox = if i % 3 == 0 { api } else { web };
                let name = format!(
                    "{} {}",
                    FIRST.choose(&mut rng).unwrap_or(&"Ana"),
                    LAST.choose(&mut rng).unwrap_or(&"Silva")
                );
                let key = format!("seed-{i}");
                let email = format!("customer{i}@example.com");
                let start = now - span + (span * i as i64 / conversations.max(1) as i64);
                let n = if i == conversations - 1 {
                    messages.saturating_sub(written).max(1)
                } else {
                    per_conv
                };
                let mut conv = None;
                for j in 0..n {
                    let len = rng.random_range(4..24);
                    let text: Vec<&str> = (0..len)
                        .map(|_| *WORDS.choose(&mut rand::rng()).unwrap_or(&"hello"))
                        .collect();
                    let text = text.join(" ");
                    let at = start + j as i64 * 60_000;
                    if j % 2 == 0 || conv.is_none() {
                        let out = ingest(
                            tx,
                            &Incoming {
                                inbox_id: inbox,
                                contact_key: &key,
                                contact: ContactInfo {
                                    name: &name,
                                    email: Some(&email),
                                    phone: None,
                                },
                                thread_key: &key,
                                source_id: None,
                                content: &text,
                                created_at: at,
                                files: &[],
                            },
                        )?;
                        conv = Some(out.conversation_id);
                    } else if let Some(conversation_id) = conv {
                        messages::insert(
                            tx,
                            &messages::NewMessage {
                                conversation_id,
                                inbox_id: inbox,
                                source_id: None,
                                kind: MessageKind::Outgoing,
                                content: &text,
                                sender_name: Some("Agent"),
                                delivery: Some(crate::model::Delivery::Sent),
                                created_at: at,
                                by_bot: false,
                            },
                        )?;
                        conversations::touch(
                            tx,
                            conversation_id,
                            MessageKind::Outgoing,
                            &text,
                            at,
                            false,
                        )?;
                    }
                    written += 1;
                }
                if let Some(id) = conv {
                    let status = match i % 10 {
                        0..=5 => crate::model::ConversationStatus::Resolved,
                        6 => crate::model::ConversationStatus::Pending,
                        _ => crate::model::ConversationStatus::Open,
                    };
                    conversations::set_status(tx, id, status)?;
                    if i % 4 != 0 {
                        conversations::mark_read(tx, id)?;
                    }
                }
            }
            Ok(())
        })?;
        c = end;
    }
    Ok(SeedReport {
        conversations,
        messages: written,
        seconds: started.elapsed().as_secs_f64(),
    })
}
