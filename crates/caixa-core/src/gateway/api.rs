//! `POST /api/v1/inboxes/{inbox_token}/messages`: another app sends a customer's message.
//!
//! Checks, in order (each with its own 4xx and nothing stored): known API inbox (404), signature
//! and timestamp (401), UTF-8 and JSON shape (400), content and contact (422), size (413).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::ApiError;
use crate::caixa::{Caixa, IncomingOwned, MAX_CONTENT_BYTES};
use crate::model::{ChannelKind, ConversationId, MessageId};
use crate::signature;
use crate::store::now_ms;

#[derive(Debug, Deserialize)]
pub struct InboundMessage {
    pub contact: InboundContact,
    pub content: String,
    #[serde(default)]
    pub source_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct InboundContact {
    pub identifier: String,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Accepted {
    pub conversation_id: ConversationId,
    pub message_id: Option<MessageId>,
    /// True when a message with this `source_id` was already stored (nothing new was written).
    pub duplicate: bool,
}

const MAX_FIELD: usize = 255;

pub async fn receive(
    State(caixa): State<Caixa>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let inbox = caixa
        .inbox_by_token(&token)
        .await?
        .filter(|i| i.kind == ChannelKind::Api)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_inbox",
                "no API inbox has this token",
            )
        })?;
    let secret = caixa.inbox_secret(inbox.id).await?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    signature::verify(
        &secret,
        header(signature::TIMESTAMP_HEADER),
        header(signature::SIGNATURE_HEADER),
        &body,
        now_ms() / 1000,
    )
    .map_err(|e| ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", e.to_string()))?;

    let text = std::str::from_utf8(&body).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_utf8",
            "the body is not valid UTF-8",
        )
    })?;
    let msg: InboundMessage = serde_json::from_str(text).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not the expected JSON: {e}"),
        )
    })?;
    let invalid = |m: &str| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m);
    if msg.content.trim().is_empty() {
        return Err(invalid("content is empty"));
    }
    if msg.content.len() > MAX_CONTENT_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("content is over {} KiB", MAX_CONTENT_BYTES / 1024),
        ));
    }
    let identifier = msg.contact.identifier.trim();
    if identifier.is_empty() || identifier.len() > MAX_FIELD {
        return Err(invalid("contact.identifier must be 1 to 255 bytes"));
    }
    let name = msg.contact.name.trim();
    if name.len() > MAX_FIELD {
        return Err(invalid("contact.name must be at most 255 bytes"));
    }
    let opt = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let (email, phone) = (opt(msg.contact.email), opt(msg.contact.phone));
    if email
        .as_ref()
        .is_some_and(|e| e.len() > MAX_FIELD || !e.contains('@'))
    {
        return Err(invalid("contact.email is not an e-mail address"));
    }
    if phone.as_ref().is_some_and(|p| p.len() > 32) {
        return Err(invalid("contact.phone is too long"));
    }
    let source_id = opt(msg.source_id);
    if source_id.as_ref().is_some_and(|s| s.len() > MAX_FIELD) {
        return Err(invalid("source_id must be at most 255 bytes"));
    }

    let out = caixa
        .ingest(IncomingOwned {
            inbox_id: inbox.id,
            contact_key: identifier.to_string(),
            contact_name: if name.is_empty() {
                identifier.to_string()
            } else {
                name.to_string()
            },
            contact_email: email,
            contact_phone: phone,
            thread_key: identifier.to_string(),
            source_id,
            content: msg.content,
            created_at: now_ms(),
            files: Vec::new(),
        })
        .await?;
    let status = if out.message_id.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(Accepted {
            conversation_id: out.conversation_id,
            message_id: out.message_id,
            duplicate: out.message_id.is_none(),
        }),
    ))
}
