//! The agent-bot webhook: Caixa POSTs each customer message (signed like the API channel) to
//! a URL the user runs, and sends back what the bot answers.
//!
//! Request: `POST <url>`, `Content-Type: application/json`, `X-Caixa-Timestamp`,
//! `X-Caixa-Signature` (see [`crate::signature`]), body [`BotRequest`].
//! Response: `2xx` with `{"content": "answer" | null, "handover": false}`. Anything else (an
//! error status, a body that is not that JSON, no answer in time) hands the conversation to a
//! person.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::{ChannelKind, ConversationId, ConversationStatus, InboxId, MessageId};
use crate::signature;

#[derive(Debug, Serialize)]
pub struct BotRequest<'a> {
    /// Always `message.received`.
    pub event: &'static str,
    pub inbox: BotInbox<'a>,
    pub conversation: BotConversation,
    pub contact: BotContact<'a>,
    pub message: BotMessage<'a>,
}

#[derive(Debug, Serialize)]
pub struct BotInbox<'a> {
    pub id: InboxId,
    pub name: &'a str,
    pub channel: ChannelKind,
}

#[derive(Debug, Serialize)]
pub struct BotConversation {
    pub id: ConversationId,
    pub status: ConversationStatus,
}

#[derive(Debug, Serialize)]
pub struct BotContact<'a> {
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct BotMessage<'a> {
    pub id: MessageId,
    pub content: &'a str,
    pub created_at: i64,
}

/// What the agent bot answered.
#[derive(Debug, Default, Deserialize, PartialEq)]
pub struct BotAnswer {
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub handover: bool,
}

/// Asks the agent bot; `Err` says, in words, why it gave no usable answer.
pub async fn ask(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    timeout: Duration,
    request: &BotRequest<'_>,
) -> Result<BotAnswer, String> {
    let body = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    let timestamp = (crate::store::now_ms() / 1000).to_string();
    let response = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(signature::TIMESTAMP_HEADER, &timestamp)
        .header(
            signature::SIGNATURE_HEADER,
            signature::sign(secret, &timestamp, &body),
        )
        .timeout(timeout)
        .body(body)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                format!(
                    "the agent bot did not answer within {} s",
                    timeout.as_secs()
                )
            } else {
                "the agent bot could not be reached".to_string()
            }
        })?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("the agent bot answered HTTP {}", status.as_u16()));
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|_| "the agent bot's answer was cut off".to_string())?;
    serde_json::from_slice(&bytes)
        .map_err(|_| "the agent bot's answer was not the expected JSON".to_string())
}
