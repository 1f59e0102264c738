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
use crate::model::{
    ChannelKind, ConversationId, Delivery, InboxId, InboxSettings, Message, WhatsAppSettings,
    WhatsAppTemplate,
};
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
    let files = super::reply_files(caixa, id).await?;
    let template = caixa
        .store()
        .read(move |c| messages::template_of(c, id))
        .await
        .map_err(|e| SendError::Transient(format!("cannot read the reply's template: {e}")))?;
    if let Some(t) = template {
        let parameters: Vec<Value> = t
            .parameters
            .iter()
            .map(|p| json!({"type": "text", "text": p}))
            .collect();
        let mut template = json!({"name": t.name, "language": {"code": t.language}});
        if !parameters.is_empty() {
            template["components"] = json!([{"type": "body", "parameters": parameters}]);
        }
        let body = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "template",
            "template": template,
        });
        let wamid = post_message(http, &url, &token, &body).await?;
        return Ok(Sent {
            delivery: Delivery::Sent,
            source_id: Some(wamid),
        });
    }
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
    for f in files {
        let (name, mime) = (f.file_name.clone(), f.mime_type.clone());
        let data = super::read_file(caixa, &f).await?;
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

/// One template as `GET /{waba-id}/message_templates` lists it.
#[derive(Debug, Deserialize)]
struct GraphTemplate {
    name: String,
    language: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    components: Vec<GraphComponent>,
}

#[derive(Debug, Deserialize)]
struct GraphComponent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

/// How many `{{n}}` parameters a template body uses (the highest n).
fn parameter_count(body: &str) -> u32 {
    let mut highest = 0;
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        rest = &rest[start + 2..];
        if let Some(end) = rest.find("}}") {
            if let Ok(n) = rest[..end].trim().parse::<u32>() {
                highest = highest.max(n);
            }
            rest = &rest[end + 2..];
        }
    }
    highest
}

/// The body with `{{n}}` replaced by the n-th parameter.
pub fn fill_template(body: &str, parameters: &[String]) -> String {
    let mut out = body.to_string();
    for (i, p) in parameters.iter().enumerate() {
        out = out.replace(&format!("{{{{{}}}}}", i + 1), p);
    }
    out
}

/// The business account's approved templates (following `paging.next`, at most 10 pages).
pub async fn templates(
    http: &reqwest::Client,
    settings: &WhatsAppSettings,
    token: &str,
) -> Result<Vec<WhatsAppTemplate>, SendError> {
    let Some(waba) = settings
        .business_account_id
        .as_deref()
        .filter(|w| !w.trim().is_empty())
    else {
        return Err(SendError::Permanent(
            "Set the WhatsApp Business Account ID in the inbox settings (Meta App Dashboard → WhatsApp → API Setup) to use message templates.".into(),
        ));
    };
    let mut url = format!(
        "{}/{}/message_templates?status=APPROVED&fields=name,language,status,category,components&limit=100",
        base(settings),
        waba.trim()
    );
    let mut out = Vec::new();
    for _ in 0..10 {
        let res = http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(http_failure)?;
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(graph_failure(status, &text));
        }
        #[derive(Deserialize)]
        struct Page {
            data: Vec<GraphTemplate>,
            #[serde(default)]
            paging: Option<Value>,
        }
        let page: Page = serde_json::from_str(&text).map_err(|e| {
            SendError::Transient(format!("WhatsApp listed templates in an unknown form: {e}"))
        })?;
        out.extend(page.data.into_iter().map(|t| {
            let body = t
                .components
                .iter()
                .find(|c| c.kind.eq_ignore_ascii_case("BODY"))
                .and_then(|c| c.text.clone())
                .unwrap_or_default();
            WhatsAppTemplate {
                parameters: parameter_count(&body),
                name: t.name,
                language: t.language,
                category: t.category,
                body,
            }
        }));
        match page
            .paging
            .as_ref()
            .and_then(|p| p["next"].as_str())
            .map(str::to_string)
        {
            Some(next) => url = next,
            None => break,
        }
    }
    Ok(out)
}

impl Caixa {
    /// The approved templates of a WhatsApp inbox's business account.
    pub async fn whatsapp_templates(
        &self,
        inbox_id: InboxId,
    ) -> crate::Result<Vec<WhatsAppTemplate>> {
        let inbox = self.get_inbox(inbox_id).await?;
        let InboxSettings::WhatsApp(settings) = &inbox.settings else {
            return Err(crate::Error::Conflict(
                "message templates exist only for WhatsApp inboxes".into(),
            ));
        };
        let token = self.inbox_secret(inbox_id).await?;
        templates(&self.inner.http, settings, &token)
            .await
            .map_err(|e| crate::Error::Unavailable(e.reason().to_string()))
    }

    /// Sends an approved template (the only reply WhatsApp delivers once the 24-hour window
    /// has closed), with its `{{n}}` parameters filled in. Stored like any reply, its text being
    /// the filled-in body.
    pub async fn send_template(
        &self,
        conversation_id: ConversationId,
        name: &str,
        language: &str,
        parameters: Vec<String>,
    ) -> crate::Result<Message> {
        let row = self.get_conversation(conversation_id).await?;
        if row.channel != ChannelKind::WhatsApp {
            return Err(crate::Error::field(
                "template",
                "Templates can only be sent in WhatsApp conversations.",
            ));
        }
        let template = self
            .whatsapp_templates(row.inbox_id)
            .await?
            .into_iter()
            .find(|t| t.name == name && t.language == language)
            .ok_or_else(|| {
                crate::Error::field(
                    "template",
                    format!("There is no approved template “{name}” in {language}."),
                )
            })?;
        let parameters: Vec<String> = parameters
            .into_iter()
            .map(|p| p.trim().to_string())
            .collect();
        if parameters.len() != template.parameters as usize
            || parameters.iter().any(String::is_empty)
        {
            return Err(crate::Error::field(
                "parameters",
                format!(
                    "“{name}” needs {} value(s), none of them empty.",
                    template.parameters
                ),
            ));
        }
        let content = crate::caixa::check_content(&fill_template(&template.body, &parameters))?;
        self.store_reply(
            conversation_id,
            content,
            false,
            Vec::new(),
            Some(messages::TemplateRef {
                name: template.name,
                language: template.language,
                parameters,
            }),
        )
        .await
    }
}
