//! LINE official accounts over the Messaging API. Receiving is webhook-only: LINE POSTs to the
//! gateway (`/hooks/{inbox token}`), checked with `X-Line-Signature` (base64 HMAC-SHA256 of the
//! raw body with the channel secret) before anything is stored. Replies use the push API (reply
//! tokens expire within a minute), with `X-Line-Retry-Key` so a retried push is never
//! delivered twice.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Digest;

use super::{Inbound, SendError, Sent};
use crate::caixa::{Caixa, IncomingOwned};
use crate::ingest::IncomingFile;
use crate::model::{ChannelKind, Delivery, InboxId, LineSettings};
use crate::store::{attachments, messages};

pub const DEFAULT_API: &str = "https://api.line.me";
/// Content (images, files) is served from a separate host.
pub const DEFAULT_DATA_API: &str = "https://api-data.line.me";

fn api(settings: &LineSettings) -> &str {
    settings
        .api_base_url
        .as_deref()
        .unwrap_or(DEFAULT_API)
        .trim_end_matches('/')
}

fn data_api(settings: &LineSettings) -> &str {
    // A test double or proxy given as the API server serves content too.
    settings
        .api_base_url
        .as_deref()
        .unwrap_or(DEFAULT_DATA_API)
        .trim_end_matches('/')
}

/// `X-Line-Signature`, compared in constant time.
pub fn verify_signature(channel_secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(sig) = header.and_then(|h| {
        base64::engine::general_purpose::STANDARD
            .decode(h.trim())
            .ok()
    }) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(channel_secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

fn error_text(status: reqwest::StatusCode, body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_default();
    match v["message"].as_str() {
        Some(m) => {
            let details = v["details"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d["message"].as_str())
                .collect::<Vec<_>>()
                .join("; ");
            if details.is_empty() {
                format!("LINE refused: {m} (HTTP {})", status.as_u16())
            } else {
                format!("LINE refused: {m}: {details} (HTTP {})", status.as_u16())
            }
        }
        None => format!("LINE answered HTTP {status}"),
    }
}

/// Checks the channel access token: the bot's display name, or the reason.
pub async fn check(
    http: &reqwest::Client,
    settings: &LineSettings,
    token: &str,
) -> Result<String, String> {
    let res = http
        .get(format!("{}/v2/bot/info", api(settings)))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| format!("cannot reach LINE: {e}"))?;
    let status = res.status();
    let body = res.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(error_text(status, &body));
    }
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    Ok(v["displayName"]
        .as_str()
        .or(v["basicId"].as_str())
        .unwrap_or("LINE bot")
        .to_string())
}

/// Turns a verified webhook body into customer messages (content downloaded, names looked up).
pub async fn receive(
    caixa: &Caixa,
    inbox_id: InboxId,
    settings: &LineSettings,
    token: &str,
    body: &Value,
) -> Inbound {
    let mut out = Inbound::default();
    for e in body["events"].as_array().into_iter().flatten() {
        if e["type"].as_str() != Some("message") {
            continue; // follow, unfollow, postback…: nothing to show yet
        }
        let m = &e["message"];
        let (Some(user), Some(id)) = (e["source"]["userId"].as_str(), m["id"].as_str()) else {
            continue;
        };
        let name = profile_name(caixa, settings, token, user)
            .await
            .unwrap_or_else(|| "LINE user".to_string());
        let mut files = Vec::new();
        let kind = m["type"].as_str().unwrap_or("unknown");
        let content = match kind {
            "text" => m["text"].as_str().unwrap_or_default().to_string(),
            "image" | "video" | "audio" | "file" => {
                let file_name = m["fileName"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| {
                        let ext = match kind {
                            "image" => "jpg",
                            "video" => "mp4",
                            "audio" => "m4a",
                            _ => "bin",
                        };
                        format!("{kind}-{id}.{ext}")
                    });
                match content_of(caixa, settings, token, id, &file_name).await {
                    Ok(f) => files.push(f),
                    Err(err) => tracing::warn!(message = id, "line: cannot fetch content: {err}"),
                }
                match kind {
                    "image" => "📷 Photo".to_string(),
                    "video" => "🎬 Video".to_string(),
                    "audio" => "🎤 Audio".to_string(),
                    _ => format!("📎 {file_name}"),
                }
            }
            "location" => {
                let (lat, lon) = (
                    m["latitude"].as_f64().unwrap_or(0.0),
                    m["longitude"].as_f64().unwrap_or(0.0),
                );
                let label = [m["title"].as_str(), m["address"].as_str()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    "📍 Location: {label} {lat:.6}, {lon:.6} https://www.openstreetmap.org/?mlat={lat:.6}&mlon={lon:.6}"
                )
            }
            "sticker" => "[Sticker]".to_string(),
            other => format!("[A LINE message of type \"{other}\" that Caixa cannot show yet]"),
        };
        let content = if content.trim().is_empty() {
            "[Empty message]".to_string()
        } else {
            content
        };
        out.messages.push(IncomingOwned {
            inbox_id,
            contact_key: user.to_string(),
            contact_name: name,
            contact_email: None,
            contact_phone: None,
            thread_key: user.to_string(),
            source_id: Some(id.to_string()),
            content,
            created_at: e["timestamp"].as_i64().unwrap_or_else(crate::store::now_ms),
            files,
        });
    }
    out
}

async fn profile_name(
    caixa: &Caixa,
    settings: &LineSettings,
    token: &str,
    user: &str,
) -> Option<String> {
    let v: Value = caixa
        .inner
        .http
        .get(format!("{}/v2/bot/profile/{user}", api(settings)))
        .bearer_auth(token)
        .send()
        .await
        .ok()?
        .error_for_status()
        .ok()?
        .json()
        .await
        .ok()?;
    v["displayName"].as_str().map(str::to_string)
}

async fn content_of(
    caixa: &Caixa,
    settings: &LineSettings,
    token: &str,
    message_id: &str,
    file_name: &str,
) -> Result<IncomingFile, String> {
    let res = caixa
        .inner
        .http
        .get(format!(
            "{}/v2/bot/message/{message_id}/content",
            data_api(settings)
        ))
        .bearer_auth(token)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| e.to_string())?;
    let mime = res
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    let data = res.bytes().await.map_err(|e| e.to_string())?;
    let size = data.len() as i64;
    let dir = caixa.config().data_dir.clone();
    let sha = tokio::task::spawn_blocking(move || attachments::save_file(&dir, &data))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    Ok(IncomingFile {
        file_name: file_name.to_string(),
        mime_type: mime,
        size,
        sha256: sha,
    })
}

/// The push's retry key: a UUID fixed per reply, so LINE refuses (409) a repeat of a push it
/// already accepted instead of delivering it twice.
fn retry_key(inbox_id: InboxId, message_id: i64) -> String {
    let h = sha2::Sha256::digest(format!("caixa-line:{inbox_id}:{message_id}"));
    let mut b: [u8; 16] = h[..16].try_into().expect("32-byte digest");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &x[..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..]
    )
}

/// Sends one queued reply with the push API.
pub async fn send(
    caixa: &Caixa,
    inbox_id: InboxId,
    settings: &LineSettings,
    q: &messages::Queued,
) -> Result<Sent, SendError> {
    let token = caixa.inbox_secret(inbox_id).await.map_err(|e| {
        SendError::Transient(format!(
            "cannot read the channel access token from the keychain: {e}"
        ))
    })?;
    // One push carries up to 5 messages: the text, then each image by its public link.
    let mut messages = Vec::new();
    if !q.content.trim().is_empty() {
        messages.push(json!({"type": "text", "text": q.content}));
    }
    for f in super::reply_files(caixa, q.id).await? {
        let url = crate::gateway::media::link(caixa, ChannelKind::Line, &f).await?;
        messages.push(json!({"type": "image", "originalContentUrl": url, "previewImageUrl": url}));
    }
    let body = json!({
        "to": q.thread_key,
        "messages": messages,
    });
    let res = caixa
        .inner
        .http
        .post(format!("{}/v2/bot/message/push", api(settings)))
        .bearer_auth(&token)
        .header("X-Line-Retry-Key", retry_key(inbox_id, q.id))
        .json(&body)
        .send()
        .await
        .map_err(|e| {
            if e.is_connect() || e.is_timeout() {
                SendError::Offline(format!("cannot reach LINE: {e}"))
            } else {
                SendError::Transient(format!("LINE: {e}"))
            }
        })?;
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    let v: Value = serde_json::from_str(&text).unwrap_or_default();
    match status.as_u16() {
        200..=299 => Ok(Sent {
            delivery: Delivery::Sent,
            source_id: v["sentMessages"][0]["id"].as_str().map(str::to_string),
        }),
        // An earlier attempt was accepted (its answer was lost): it is sent, once.
        409 => Ok(Sent {
            delivery: Delivery::Sent,
            source_id: v["sentMessages"][0]["id"].as_str().map(str::to_string),
        }),
        429 => Err(SendError::RateLimited {
            reason: error_text(status, &text),
            retry_after: Duration::ZERO,
        }),
        500..=599 => Err(SendError::Transient(error_text(status, &text))),
        _ => Err(SendError::Permanent(error_text(status, &text))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_keys_are_stable_uuids() {
        let k = retry_key(3, 42);
        assert_eq!(k, retry_key(3, 42));
        assert_ne!(k, retry_key(3, 43));
        assert_eq!(k.len(), 36);
        assert_eq!(&k[14..15], "4");
    }

    #[test]
    fn signatures_are_checked_exactly() {
        let body = br#"{"destination":"U1","events":[]}"#;
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"channel-secret").unwrap();
        mac.update(body);
        let good = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert!(verify_signature("channel-secret", body, Some(&good)));
        assert!(!verify_signature("other", body, Some(&good)));
        assert!(!verify_signature("channel-secret", b"{}", Some(&good)));
        assert!(!verify_signature("channel-secret", body, None));
        assert!(!verify_signature("channel-secret", body, Some("!!")));
    }
}
