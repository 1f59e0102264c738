//! `GET|POST /hooks/{inbox_token}`: webhooks of providers that can only push (WhatsApp Cloud
//! API, LINE). One path per inbox; the body is stored only after its signature checks out.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::caixa::Caixa;
use crate::channels::{line, whatsapp};
use crate::model::{CoreEvent, Inbox, InboxSettings};

async fn inbox(caixa: &Caixa, token: &str) -> Result<Inbox, Response> {
    match caixa.inbox_by_token(token).await {
        Ok(Some(i))
            if matches!(
                i.settings,
                InboxSettings::WhatsApp(_) | InboxSettings::Line(_)
            ) =>
        {
            Ok(i)
        }
        Ok(_) => Err((StatusCode::NOT_FOUND, "unknown inbox").into_response()),
        Err(e) => {
            tracing::error!("webhook: cannot read inboxes: {e}");
            Err(StatusCode::SERVICE_UNAVAILABLE.into_response())
        }
    }
}

/// Meta's subscription check: echo `hub.challenge` when `hub.verify_token` is the inbox's.
pub async fn verify(
    State(caixa): State<Caixa>,
    Path(token): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let inbox = match inbox(&caixa, &token).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let InboxSettings::WhatsApp(s) = &inbox.settings else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mode_ok = q.get("hub.mode").map(String::as_str) == Some("subscribe");
    let token_ok = q.get("hub.verify_token").map(String::as_str) == Some(&s.verify_token);
    match (mode_ok && token_ok, q.get("hub.challenge")) {
        (true, Some(challenge)) => challenge.clone().into_response(),
        _ => (StatusCode::FORBIDDEN, "verify token does not match").into_response(),
    }
}

pub async fn receive(
    State(caixa): State<Caixa>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let inbox = match inbox(&caixa, &token).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let (app_secret, access_token) = match (
        caixa.inbox_webhook_secret(inbox.id).await,
        caixa.inbox_secret(inbox.id).await,
    ) {
        (Ok(a), Ok(t)) => (a, t),
        (Err(e), _) | (_, Err(e)) => {
            // The provider retries; a locked keychain must not lose messages.
            tracing::error!(
                inbox = inbox.id,
                "webhook: cannot read the inbox secrets: {e}"
            );
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signed = match &inbox.settings {
        InboxSettings::WhatsApp(_) => {
            whatsapp::verify_signature(&app_secret, &body, header("x-hub-signature-256"))
        }
        InboxSettings::Line(_) => {
            line::verify_signature(&app_secret, &body, header("x-line-signature"))
        }
        _ => false,
    };
    if !signed {
        tracing::warn!(
            inbox = inbox.id,
            "webhook refused: missing or wrong signature"
        );
        return (StatusCode::UNAUTHORIZED, "invalid signature").into_response();
    }
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "body is not JSON").into_response();
    };
    let hook = match &inbox.settings {
        InboxSettings::WhatsApp(s) => {
            whatsapp::receive(&caixa, inbox.id, s, &access_token, &json).await
        }
        InboxSettings::Line(s) => line::receive(&caixa, inbox.id, s, &access_token, &json).await,
        _ => Default::default(),
    };
    if !hook.messages.is_empty() {
        if let Err(e) = caixa.ingest_batch(hook.messages, None).await {
            tracing::error!(inbox = inbox.id, "webhook: cannot store messages: {e}");
            // Not 2xx: Meta delivers the webhook again later.
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    }
    for (wamid, delivery, error) in hook.statuses {
        let inbox_id = inbox.id;
        let changed = caixa
            .store()
            .write(move |tx| {
                crate::store::messages::apply_delivery_report(
                    tx,
                    inbox_id,
                    &wamid,
                    delivery,
                    error.as_deref(),
                )
            })
            .await;
        match changed {
            Ok(Some((message_id, conversation_id))) => {
                caixa.events().emit(CoreEvent::MessageChanged {
                    conversation_id,
                    message_id,
                })
            }
            Ok(None) => {}
            Err(e) => tracing::error!(inbox = inbox.id, "webhook: cannot record a status: {e}"),
        }
    }
    StatusCode::OK.into_response()
}
