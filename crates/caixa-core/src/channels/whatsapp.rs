//! WhatsApp Business inboxes over Meta's Cloud API. Receiving is webhook-only: Meta POSTs to
//! the gateway (`/hooks/{inbox token}`), which checks `X-Hub-Signature-256` with the app secret
//! before anything is stored ([`verify_signature`], [`receive`]). Replies go to
//! `POST /{version}/{phone-number-id}/messages`; files are uploaded to `/{phone-number-id}/media`
//! first. Free-form replies are only allowed within 24 h of the customer's last message.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{Inbound, SendError, Sent};
use crate::caixa::{Caixa, IncomingOwned};
use crate::ingest::IncomingFile;
use crate::model::{Delivery, InboxId, WhatsAppSettings};
use crate::store::{attachments, messages};

pub const DEFAULT_API: &str = "https://graph.facebook.com";
pub const DEFAULT_VERSION: &str = "v21.0";
/// Media the Cloud API serves is at most 100 MB (documents); keep well under memory limits.
const MAX_MEDIA_BYTES: usize = 100 * 1024 * 1024;

fn base(settings: &WhatsAppSettings) -> String {
    format!(
        "{}/{}",
        settings
            .api_base_url
            .as_deref()
            .unwrap_or(DEFAULT_API)
            .trim_end_matches('/'),
        settings.api_version.as_deref().unwrap_or(DEFAULT_VERSION)
    )
}

/// A Graph API error: `{"error": {"message", "code", "error_subcode"?, "error_data"?}}`.
#[derive(Debug, Deserialize)]
struct GraphError {
    error: GraphErrorBody,
}

#[derive(Debug, Deserialize)]
struct GraphErrorBody {
    message: String,
    #[serde(default)]
    code: i64,
    #[serde(default)]
    error_data: Option<Value>,
}

/// What the Graph API answered, in words, and how the outbox should treat it.
fn graph_failure(status: reqwest::StatusCode, body: &str) -> SendError {
    let parsed: Option<GraphError> = serde_json::from_str(body).ok();
    let (code, message) = match &parsed {
        Some(g) => {
            let details = g
                .error
                .error_data
                .as_ref()
                .and_then(|d| d["details"].as_str())
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            (
                g.error.code,
                format!(
                    "WhatsApp refused: {}{details} [code {}]",
                    g.error.message, g.error.code
                ),
            )
        }
        None => (0, format!("WhatsApp answered HTTP {status}")),
    };
    match code {
        // Throughput and rate limits (Cloud API error codes; Meta names no wait): back off.
        4 | 80007 | 130429 | 131056 => SendError::RateLimited {
            reason: message,
            retry_after: Duration::ZERO,
        },
        _ if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS => {
            SendError::Transient(message)
        }
        _ => SendError::Permanent(message),
    }
}

fn http_failure(e: reqwest::Error) -> SendError {
    if e.is_connect() || e.is_timeout() {
        SendError::Offline(format!("cannot reach WhatsApp: {e}"))
    } else {
        SendError::Transient(format!("WhatsApp: {e}"))
    }
}

/// Checks the access token and phone number ID: the number as Meta shows it, or the reason.
pub async fn check(
    http: &reqwest::Client,
    settings: &WhatsAppSettings,
    token: &str,
) -> Result<String, String> {
    let url = format!(
        "{}/{}?fields=display_phone_number,verified_name",
        base(settings),
        settings.phone_number_id
    );
    let res = http
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| format!("cannot reach WhatsApp: {e}"))?;
    let status = res.status();
    let body = res.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(match graph_failure(status, &body) {
            SendError::Permanent(m)
            | SendError::Transient(m)
            | SendError::Offline(m)
            | SendError::RateLimited { reason: m, .. } => m,
        });
    }
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    let phone = v["display_phone_number"].as_str().unwrap_or_default();
    let name = v["verified_name"].as_str().unwrap_or_default();
    Ok(match (phone, name) {
        ("", _) => settings.phone_number_id.clone(),
        (p, "") => p.to_string(),
        (p, n) => format!("{p} ({n})"),
    })
}

/// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`, compared in
/// constant time.
pub fn verify_signature(app_secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(app_secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// Turns a verified webhook body into messages (media downloaded into the attachment store)
/// and delivery updates. Unknown parts are skipped; unsupported message types become a
/// readable placeholder.
pub async fn receive(
    caixa: &Caixa,
    inbox_id: InboxId,
    settings: &WhatsAppSettings,
    token: &str,
    body: &Value,
) -> Inbound {
    let mut out = Inbound::default();
    let changes = body["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["changes"].as_array().into_iter().flatten());
    for change in changes {
        let value = &change["value"];
        if value["metadata"]["phone_number_id"].as_str() != Some(&settings.phone_number_id) {
            continue; // another number of the same business account
        }
        let names: Vec<(&str, &str)> = value["contacts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| Some((c["wa_id"].as_str()?, c["profile"]["name"].as_str()?)))
            .collect();
        for m in value["messages"].as_array().into_iter().flatten() {
            let (Some(from), Some(id)) = (m["from"].as_str(), m["id"].as_str()) else {
                continue;
            };
            let name = names
                .iter()
                .find(|(w, _)| *w == from)
                .map(|(_, n)| n.to_string())
                .unwrap_or_else(|| format!("+{from}"));
            let at = m["timestamp"]
                .as_str()
                .and_then(|t| t.parse::<i64>().ok())
                .map(|s| s * 1000)
                .unwrap_or_else(crate::store::now_ms);
            let (content, files) = message_content(caixa, settings, token, m).await;
            out.messages.push(IncomingOwned {
                inbox_id,
                contact_key: from.to_string(),
                contact_name: name,
                contact_email: None,
                contact_phone: Some(format!("+{from}")),
                thread_key: from.to_string(),
                source_id: Some(id.to_string()),
                content,
                created_at: at,
                files,
            });
        }
        for s in value["statuses"].as_array().into_iter().flatten() {
            let Some(id) = s["id"].as_str() else { continue };
            let (delivery, error) = match s["status"].as_str() {
                Some("sent") => (Delivery::Sent, None),
                Some("delivered") | Some("read") => (Delivery::Delivered, None),
                Some("failed") => {
                    let e = &s["errors"][0];
                    let details = e["error_data"]["details"]
                        .as_str()
                        .or(e["message"].as_str())
                        .unwrap_or("unknown error");
                    (
                        Delivery::Failed,
                        Some(format!(
                            "WhatsApp could not deliver it: {} [code {}]",
                            details,
                            e["code"].as_i64().unwrap_or(0)
                        )),
                    )
                }
                _ => continue,
            };
            out.statuses.push((id.to_string(), delivery, error));
        }
    }
    out
}

async fn message_content(
    caixa: &Caixa,
    settings: &WhatsAppSettings,
    token: &str,
    m: &Value,
) -> (String, Vec<IncomingFile>) {
    let kind = m["type"].as_str().unwrap_or("unknown");
    let mut files = Vec::new();
    let text = match kind {
        "text" => m["text"]["body"].as_str().unwrap_or_default().to_string(),
        "image" | "document" | "audio" | "video" | "sticker" => {
            let media = &m[kind];
            let mime = media["mime_type"]
                .as_str()
                .unwrap_or("application/octet-stream")
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            let ext = mime.rsplit('/').next().unwrap_or("bin");
            let name = media["filename"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("{kind}.{ext}"));
            if let Some(id) = media["id"].as_str() {
                match download(caixa, settings, token, id).await {
                    Ok((data, size)) => files.push(IncomingFile {
                        file_name: name.clone(),
                        mime_type: mime,
                        size,
                        sha256: data,
                    }),
                    Err(e) => tracing::warn!(media = id, "whatsapp: cannot fetch media: {e}"),
                }
            }
            match (media["caption"].as_str(), kind) {
                (Some(c), _) if !c.is_empty() => c.to_string(),
                (_, "image") => "📷 Photo".into(),
                (_, "audio") => "🎤 Audio".into(),
                (_, "video") => "🎬 Video".into(),
                (_, "sticker") => "[Sticker]".into(),
                _ => format!("📎 {name}"),
            }
        }
        "location" => {
            let l = &m["location"];
            let (lat, lon) = (
                l["latitude"].as_f64().unwrap_or(0.0),
                l["longitude"].as_f64().unwrap_or(0.0),
            );
            let label = [l["name"].as_str(), l["address"].as_str()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
            let label = if label.is_empty() {
                String::new()
            } else {
                format!(" {label}")
            };
            format!(
                "📍 Location:{label} {lat:.6}, {lon:.6} https://www.openstreetmap.org/?mlat={lat:.6}&mlon={lon:.6}"
            )
        }
        "button" => m["button"]["text"].as_str().unwrap_or_default().to_string(),
        "interactive" => m["interactive"]["button_reply"]["title"]
            .as_str()
            .or(m["interactive"]["list_reply"]["title"].as_str())
            .unwrap_or("[Interactive reply]")
            .to_string(),
        other => format!("[A WhatsApp message of type \"{other}\" that Caixa cannot show yet]"),
    };
    let text = if text.trim().is_empty() {
        "[Empty message]".to_string()
    } else {
        text
    };
    (text, files)
}

/// Media by id: its URL from `GET /{media-id}`, then the bytes (the URL also needs the token).
/// Returns `(sha256, size)` once stored.
async fn download(
    caixa: &Caixa,
    settings: &WhatsAppSettings,
    token: &str,
    media_id: &str,
) -> Result<(String, i64), String> {
    let http = &caixa.inner.http;
    let meta: Value = http
        .get(format!("{}/{media_id}", base(settings)))
        .bearer_auth(token)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let url = meta["url"].as_str().ok_or("no media URL in the answer")?;
    let data = http
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| e.to_string())?
        .bytes()
        .await
        .map_err(|e| e.to_string())?;
    if data.len() > MAX_MEDIA_BYTES {
        return Err("media larger than 100 MB".into());
    }
    let size = data.len() as i64;
    let dir = caixa.config().data_dir.clone();
    let sha = tokio::task::spawn_blocking(move || attachments::save_file(&dir, &data))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    Ok((sha, size))
}

/// Sends one queued reply: the text, then each file (uploaded, then sent as image or
/// document).
pub async fn send(
    caixa: &Caixa,
    inbox_id: InboxId,
    settings: &WhatsAppSettings,
    q: &messages::Queued,
) -> Result<Sent, SendError> {
    let token = caixa.inbox_secret(inbox_id).await.map_err(|e| {
        SendError::Transient(format!(
            "cannot read the access token from the keychain: {e}"
        ))
    })?;
    let http = &caixa.inner.http;
    let url = format!("{}/{}/messages", base(settings), settings.phone_number_id);
    let to = q.thread_key.clone();
    let id = q.id;
    let files = caixa
        .store()
        .read(move |c| attachments::files_of(c, id))
        .await
        .map_err(|e| SendError::Transient(format!("cannot read the reply's files: {e}")))?;
    let mut first = None;
    if !q.content.trim().is_empty() {
        let body = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": {"preview_url": false, "body": q.content},
        });
        first = Some(post_message(http, &url, &token, &body).await?);
    }
    for (name, mime, sha) in files {
        let path = attachments::path_of(&caixa.config().data_dir, &sha);
        let data = tokio::fs::read(&path)
            .await
            .map_err(|e| SendError::Permanent(format!("{name} cannot be read: {e}")))?;
        let media_id = upload(http, settings, &token, &name, &mime, data).await?;
        let kind = if matches!(mime.as_str(), "image/jpeg" | "image/png") {
            "image"
        } else {
            "document"
        };
        let mut media = json!({ "id": media_id });
        if kind == "document" {
            media["filename"] = json!(name);
        }
        let body = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": kind,
            kind: media,
        });
        let wamid = post_message(http, &url, &token, &body).await?;
        first.get_or_insert(wamid);
    }
    Ok(Sent {
        delivery: Delivery::Sent,
        source_id: first,
    })
}

async fn post_message(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: &Value,
) -> Result<String, SendError> {
    let res = http
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .map_err(http_failure)?;
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(graph_failure(status, &text));
    }
    let v: Value = serde_json::from_str(&text).unwrap_or_default();
    v["messages"][0]["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| SendError::Transient("WhatsApp answered without a message id".into()))
}

async fn upload(
    http: &reqwest::Client,
    settings: &WhatsAppSettings,
    token: &str,
    name: &str,
    mime: &str,
    data: Vec<u8>,
) -> Result<String, SendError> {
    let part = reqwest::multipart::Part::bytes(data)
        .file_name(name.to_string())
        .mime_str(mime)
        .map_err(|e| SendError::Permanent(format!("{name}: {e}")))?;
    let form = reqwest::multipart::Form::new()
        .text("messaging_product", "whatsapp")
        .text("type", mime.to_string())
        .part("file", part);
    let res = http
        .post(format!(
            "{}/{}/media",
            base(settings),
            settings.phone_number_id
        ))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .map_err(http_failure)?;
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(graph_failure(status, &text));
    }
    let v: Value = serde_json::from_str(&text).unwrap_or_default();
    v["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| SendError::Transient("WhatsApp answered the upload without an id".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_exactly() {
        let body = br#"{"object":"whatsapp_business_account"}"#;
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"app-secret").unwrap();
        mac.update(body);
        let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert!(verify_signature("app-secret", body, Some(&good)));
        assert!(!verify_signature("other-secret", body, Some(&good)));
        assert!(!verify_signature("app-secret", b"{}", Some(&good)));
        assert!(!verify_signature("app-secret", body, None));
        assert!(!verify_signature("app-secret", body, Some("sha256=zz")));
        assert!(!verify_signature("app-secret", body, Some(&good[7..])));
    }

    #[test]
    fn graph_errors_are_classified() {
        let rate = r#"{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429}}"#;
        assert!(matches!(
            graph_failure(reqwest::StatusCode::TOO_MANY_REQUESTS, rate),
            SendError::RateLimited { .. }
        ));
        let token = r#"{"error":{"message":"Error validating access token","type":"OAuthException","code":190}}"#;
        match graph_failure(reqwest::StatusCode::UNAUTHORIZED, token) {
            SendError::Permanent(m) => assert!(m.contains("access token") && m.contains("190")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            graph_failure(reqwest::StatusCode::BAD_GATEWAY, "<html>"),
            SendError::Transient(_)
        ));
    }
}
