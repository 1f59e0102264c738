//! API channel, sending side: agent replies are POSTed to the inbox's webhook URL, signed like
//! incoming requests (see [`crate::signature`]).

use std::time::Duration;

use serde::Serialize;

use crate::model::{ConversationId, Delivery, InboxId, MessageId};
use crate::signature;

use super::{SendError, Sent};

/// The JSON body Caixa POSTs to an API inbox's webhook for each agent reply.
#[derive(Debug, Serialize)]
pub struct WebhookEvent<'a> {
    /// Always `message.created`.
    pub event: &'static str,
    pub inbox_id: InboxId,
    pub conversation_id: ConversationId,
    pub contact: WebhookContact<'a>,
    pub message: WebhookMessage<'a>,
}

#[derive(Debug, Serialize)]
pub struct WebhookContact<'a> {
    pub identifier: &'a str,
}

#[derive(Debug, Serialize)]
pub struct WebhookMessage<'a> {
    pub id: MessageId,
    pub content: &'a str,
    pub sender_name: Option<&'a str>,
    pub created_at: i64,
}

pub async fn send(
    http: &reqwest::Client,
    webhook_url: Option<&str>,
    secret: &str,
    event: &WebhookEvent<'_>,
) -> Result<Sent, SendError> {
    let Some(url) = webhook_url else {
        return Err(SendError::Permanent(
            "this API inbox has no webhook URL; set one in the inbox settings and retry".into(),
        ));
    };
    let body = serde_json::to_vec(event).map_err(|e| SendError::Permanent(e.to_string()))?;
    let timestamp = (crate::store::now_ms() / 1000).to_string();
    let sig = signature::sign(secret, &timestamp, &body);
    let response = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(signature::TIMESTAMP_HEADER, &timestamp)
        .header(signature::SIGNATURE_HEADER, sig)
        .timeout(Duration::from_secs(15))
        .body(body)
        .send()
        .await
        .map_err(|e| SendError::Transient(describe(&e)))?;
    let status = response.status();
    if status.is_success() {
        return Ok(Sent {
            delivery: Delivery::Sent,
            source_id: None,
        });
    }
    let text = response.text().await.unwrap_or_default();
    let detail: String = text.chars().take(200).collect();
    let reason = if detail.trim().is_empty() {
        format!("the webhook answered HTTP {status}")
    } else {
        format!("the webhook answered HTTP {status}: {}", detail.trim())
    };
    if status.is_server_error()
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
    {
        Err(SendError::Transient(reason))
    } else {
        Err(SendError::Permanent(reason))
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the webhook did not answer in time".into()
    } else if e.is_connect() {
        "could not connect to the webhook".into()
    } else {
        format!("request to the webhook failed: {e}")
    }
}
