//! The per-inbox chatbot: greeting, out-of-office reply, FAQ answers, the agent-bot webhook
//! and the hand-over to a person.
//!
//! With FAQ answers or an agent bot set, the bot is on: a new conversation starts as pending
//! and the bot answers each customer message while it stays pending. "Talk to a human" (the
//! hand-over words), no matching answer, or an agent bot that fails or asks for it hands the
//! conversation over: status open, an activity line and a [`CoreEvent::HandedOver`] for the
//! notification. Conversations reopened later go straight to people.

use std::time::Duration;

use super::agent_bot::{self, BotAnswer, BotContact, BotConversation, BotInbox, BotMessage};
use super::{hours, Trigger};
use crate::caixa::{check_content, Caixa};
use crate::canned::unknown_variables;
use crate::error::{Error, Result};
use crate::model::*;
use crate::store::{bots, contacts, conversations, now_ms};

pub const DEFAULT_HANDOVER_WORDS: [&str; 6] =
    ["human", "agent", "person", "humano", "atendente", "pessoa"];
const DEFAULT_AGENT_BOT_TIMEOUT_SECS: u32 = 10;
/// The out-of-office reply is sent at most once per conversation in this time.
const OUT_OF_OFFICE_EVERY_MS: i64 = 24 * 3600 * 1000;
const MAX_FAQ: usize = 200;

fn is_active(s: &BotSettings) -> bool {
    !s.faq.is_empty() || s.agent_bot_url.is_some()
}

fn agent_bot_secret_ref(inbox_token: &str) -> String {
    format!("inbox/{inbox_token}/agent-bot-secret")
}

impl Caixa {
    /// An inbox's greeting, business hours and bot.
    pub async fn inbox_bot(&self, inbox_id: InboxId) -> Result<InboxBot> {
        let inbox = self.get_inbox(inbox_id).await?;
        let settings = self.store().read(move |c| bots::get(c, inbox_id)).await?;
        let agent_bot_secret = match settings.agent_bot_url {
            Some(_) => Some(
                self.config()
                    .secrets
                    .get(&agent_bot_secret_ref(&inbox.token))
                    .await?,
            ),
            None => None,
        };
        Ok(InboxBot {
            inbox_id,
            active: is_active(&settings),
            settings,
            agent_bot_secret,
        })
    }

    /// Saves an inbox's greeting, business hours and bot, after checking them. Setting an
    /// agent-bot URL the first time creates its signing secret (in the keychain).
    pub async fn save_inbox_bot(
        &self,
        inbox_id: InboxId,
        settings: BotSettings,
    ) -> Result<InboxBot> {
        let inbox = self.get_inbox(inbox_id).await?;
        let settings = check_settings(settings)?;
        if settings.agent_bot_url.is_some() {
            let reference = agent_bot_secret_ref(&inbox.token);
            let secrets = &self.config().secrets;
            if secrets.get(&reference).await.is_err() {
                secrets
                    .set(&reference, &crate::inbox_config::new_secret())
                    .await?;
            }
        }
        self.store()
            .write(move |tx| bots::set(tx, inbox_id, &settings))
            .await?;
        self.events()
            .emit(CoreEvent::BotSettingsChanged { inbox_id });
        self.inbox_bot(inbox_id).await
    }

    /// Forgets the agent-bot secret of a deleted inbox.
    pub(crate) async fn forget_agent_bot_secret(&self, inbox_token: &str) {
        let _ = self
            .config()
            .secrets
            .delete(&agent_bot_secret_ref(inbox_token))
            .await;
    }
}

/// Trims and checks every field; the error names the field the form shows it under.
fn check_settings(mut s: BotSettings) -> Result<BotSettings> {
    let text = |field: &str, value: Option<String>| -> Result<Option<String>> {
        let Some(v) = value.filter(|v| !v.trim().is_empty()) else {
            return Ok(None);
        };
        let v = check_content(&v).map_err(|e| Error::field(field, e.to_string()))?;
        let unknown = unknown_variables(&v);
        if !unknown.is_empty() {
            return Err(Error::field(
                field,
                format!("Unknown variable {{{{{}}}}}.", unknown.join("}}, {{")),
            ));
        }
        Ok(Some(v))
    };
    s.greeting = text("greeting", s.greeting)?;
    s.out_of_office = text("out_of_office", s.out_of_office)?;
    s.handover_message = text("handover_message", s.handover_message)?;
    if let Some(h) = &mut s.business_hours {
        h.time_zone = h.time_zone.trim().to_string();
        hours::check(h).map_err(|e| Error::field("business_hours", e))?;
    }
    if s.out_of_office.is_some() && s.business_hours.is_none() {
        return Err(Error::field(
            "out_of_office",
            "Set business hours first: the out-of-office reply is sent outside them.",
        ));
    }
    if s.faq.len() > MAX_FAQ {
        return Err(Error::field("faq", format!("At most {MAX_FAQ} answers.")));
    }
    for (i, faq) in s.faq.iter_mut().enumerate() {
        faq.keywords = words(&faq.keywords);
        if faq.keywords.is_empty() {
            return Err(Error::field(
                "faq",
                format!("Answer {}: give at least one keyword.", i + 1),
            ));
        }
        faq.answer = text("faq", Some(faq.answer.clone()))?
            .ok_or_else(|| Error::field("faq", format!("Answer {}: write the answer.", i + 1)))?;
    }
    s.handover_keywords = words(&s.handover_keywords);
    s.agent_bot_url = match s.agent_bot_url.map(|u| u.trim().to_string()) {
        Some(u) if u.is_empty() => None,
        Some(u) => match url::Url::parse(&u) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Some(u),
            _ => {
                return Err(Error::field(
                    "agent_bot_url",
                    "Give the agent bot's full address, e.g. https://bot.example.com/caixa.",
                ))
            }
        },
        None => None,
    };
    if s.agent_bot_timeout_secs > 30 {
        return Err(Error::field(
            "agent_bot_timeout_secs",
            "Wait at most 30 seconds for the agent bot.",
        ));
    }
    Ok(s)
}

fn words(list: &[String]) -> Vec<String> {
    list.iter()
        .map(|w| w.trim().to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

fn mentions(text: &str, words: &[String]) -> bool {
    let text = text.to_lowercase();
    words.iter().any(|w| text.contains(w.as_str()))
}

/// What the bot does with a customer event (rules ran first).
pub(super) async fn run(caixa: &Caixa, t: &Trigger) -> Result<()> {
    // Only customers talk to the bot; what automation itself changes is for rules.
    if t.chain.depth > 0
        || !matches!(
            t.event,
            RuleEvent::ConversationCreated | RuleEvent::MessageReceived
        )
    {
        return Ok(());
    }
    let conversation_id = t.conversation_id;
    let Ok(row) = caixa.get_conversation(conversation_id).await else {
        return Ok(()); // deleted meanwhile
    };
    let inbox_id = row.inbox_id;
    let settings = caixa.store().read(move |c| bots::get(c, inbox_id)).await?;
    let chain = t.chain.child("Bot".to_string(), None);
    chain
        .scope(async {
            match t.event {
                RuleEvent::ConversationCreated => greet(caixa, &row, &settings).await,
                _ => answer(caixa, t, &settings).await,
            }
        })
        .await
}

async fn say(caixa: &Caixa, conversation_id: ConversationId, text: &str) -> Result<()> {
    let text = caixa.render_reply(conversation_id, text).await?;
    caixa
        .send_message(conversation_id, &text, false, &[])
        .await
        .map(|_| ())
}

async fn greet(caixa: &Caixa, row: &ConversationRow, s: &BotSettings) -> Result<()> {
    if let Some(greeting) = &s.greeting {
        say(caixa, row.id, greeting).await?;
    }
    if is_active(s) && row.status == ConversationStatus::Open {
        caixa
            .apply_one(
                row.id,
                &ConversationAction::SetStatus {
                    status: ConversationStatus::Pending,
                },
            )
            .await?;
    }
    Ok(())
}

async fn answer(caixa: &Caixa, t: &Trigger, s: &BotSettings) -> Result<()> {
    let conversation_id = t.conversation_id;
    let Some(message_id) = t.message_id else {
        return Ok(());
    };
    let message = caixa.get_message(message_id).await?;
    if let (Some(h), Some(reply)) = (&s.business_hours, &s.out_of_office) {
        if !hours::is_open(h, now_ms()) {
            let rendered = caixa.render_reply(conversation_id, reply).await?;
            let probe = rendered.clone();
            let last = caixa
                .store()
                .read(move |c| bots::last_sent(c, conversation_id, &probe))
                .await?;
            if last.is_none_or(|at| now_ms() - at >= OUT_OF_OFFICE_EVERY_MS) {
                caixa
                    .send_message(conversation_id, &rendered, false, &[])
                    .await?;
            }
        }
    }
    if !is_active(s) {
        return Ok(());
    }
    let row = caixa.get_conversation(conversation_id).await?;
    if row.status != ConversationStatus::Pending {
        return Ok(()); // a person has it
    }
    let handover_words = if s.handover_keywords.is_empty() {
        DEFAULT_HANDOVER_WORDS
            .iter()
            .map(|w| w.to_string())
            .collect()
    } else {
        s.handover_keywords.clone()
    };
    if mentions(&message.content, &handover_words) {
        return hand_over(caixa, conversation_id, s, "the customer asked for a person").await;
    }
    if let Some(url) = &s.agent_bot_url {
        return match ask_agent_bot(caixa, &row, &message, url, s).await {
            Ok(BotAnswer { content, handover }) => {
                let content = content.filter(|c| !c.trim().is_empty());
                if let Some(c) = &content {
                    caixa.send_message(conversation_id, c, false, &[]).await?;
                }
                if handover || content.is_none() {
                    hand_over(
                        caixa,
                        conversation_id,
                        s,
                        "the agent bot asked for a person",
                    )
                    .await
                } else {
                    Ok(())
                }
            }
            Err(reason) => {
                tracing::warn!(conversation = conversation_id, "agent bot: {reason}");
                hand_over(caixa, conversation_id, s, &reason).await
            }
        };
    }
    if let Some(faq) = s
        .faq
        .iter()
        .find(|f| mentions(&message.content, &f.keywords))
    {
        return say(caixa, conversation_id, &faq.answer).await;
    }
    if t.first && s.greeting.is_some() {
        // The greeting answered the opening message ("hi"); wait for the real question.
        return Ok(());
    }
    hand_over(caixa, conversation_id, s, "the bot had no answer").await
}

async fn ask_agent_bot(
    caixa: &Caixa,
    row: &ConversationRow,
    message: &Message,
    url: &str,
    s: &BotSettings,
) -> std::result::Result<BotAnswer, String> {
    let inbox = caixa
        .get_inbox(row.inbox_id)
        .await
        .map_err(|e| e.to_string())?;
    let secret = caixa
        .config()
        .secrets
        .get(&agent_bot_secret_ref(&inbox.token))
        .await
        .map_err(|e| format!("the agent bot's secret is not available: {e}"))?;
    let contact_id = row.contact_id;
    let contact = caixa
        .store()
        .read(move |c| contacts::get(c, contact_id))
        .await
        .map_err(|e| e.to_string())?;
    let request = agent_bot::BotRequest {
        event: "message.received",
        inbox: BotInbox {
            id: inbox.id,
            name: &inbox.name,
            channel: inbox.kind,
        },
        conversation: BotConversation {
            id: row.id,
            status: row.status,
        },
        contact: BotContact {
            name: &contact.name,
            email: contact.email.as_deref(),
            phone: contact.phone.as_deref(),
        },
        message: BotMessage {
            id: message.id,
            content: &message.content,
            created_at: message.created_at,
        },
    };
    let secs = match s.agent_bot_timeout_secs {
        0 => DEFAULT_AGENT_BOT_TIMEOUT_SECS,
        n => n,
    };
    agent_bot::ask(
        &caixa.inner.http,
        url,
        &secret,
        Duration::from_secs(secs.into()),
        &request,
    )
    .await
}

/// Gives the conversation to people: the hand-over message, status open with one activity
/// line saying why, and an event for the notification.
async fn hand_over(
    caixa: &Caixa,
    conversation_id: ConversationId,
    s: &BotSettings,
    why: &str,
) -> Result<()> {
    if let Some(m) = &s.handover_message {
        say(caixa, conversation_id, m).await?;
    }
    caixa
        .store()
        .write(move |tx| conversations::set_status(tx, conversation_id, ConversationStatus::Open))
        .await?;
    caixa
        .add_activity(
            conversation_id,
            &format!("Bot handed the conversation over to a person: {why}"),
        )
        .await?;
    let bus = caixa.events();
    bus.emit(CoreEvent::ConversationChanged { conversation_id });
    bus.emit(CoreEvent::HandedOver { conversation_id });
    caixa.trigger(RuleEvent::ConversationUpdated, conversation_id, None, false);
    Ok(())
}
