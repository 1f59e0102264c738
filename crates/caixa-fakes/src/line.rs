//! Fake LINE Messaging API (<https://developers.line.biz/en/reference/messaging-api/>).
//!
//! Paths (below [`LineFake::base_url`], standing for both `https://api.line.me` and the
//! content host `https://api-data.line.me`):
//! - `POST /v2/bot/message/push` (`to`, `messages[1..5]`, optional `X-Line-Retry-Key`) and
//!   `POST /v2/bot/message/reply` (`replyToken`, `messages`) → `{"sentMessages":[{"id",
//!   "quoteToken"?}]}`. Reply tokens work once.
//! - `GET /v2/bot/info`, `GET /v2/bot/profile/{userId}`,
//!   `GET /v2/bot/message/{messageId}/content` (bytes of a customer's image/file/…).
//!
//! Auth: `Authorization: Bearer <channel access token>`. Errors are `{"message", "details"?}`
//! with LINE's texts; every response carries `X-Line-Request-Id`.
//!
//! Injected failures ([`LineFake::fail_next`], matched on the path):
//! - [`Failure::RateLimited`] → 429 `The API rate limit has been exceeded. Try again later.`
//!   (`retry_after_secs` unused: LINE sends no retry hint); [`failures::monthly_limit`] is the
//!   other 429.
//! - [`Failure::Unauthorized`] → 401 `Authentication failed. …`.
//! - [`Failure::ServerError`] → 500 `Internal server error`.
//! - [`Failure::Status`] → `{"message": message}` with `status` (`code` unused).
//! - [`Failure::Raw`] → exactly the given response.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::response::Response;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

use crate::failure::Failure;
use crate::recorder::{lock, Recorded};
use crate::server::{self, Provider, Server};
use crate::{clock, ids};

const AUTH_FAILED: &str =
    "Authentication failed. Confirm that the access token in the authorization header is valid.";

/// `X-Line-Signature` of a webhook body: base64 HMAC-SHA256 keyed with the channel secret.
pub fn sign(channel_secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(channel_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The same webhook body as LINE re-sends it after a failed delivery
/// (`deliveryContext.isRedelivery: true`).
pub fn redelivery(webhook: &Value) -> Value {
    let mut body = webhook.clone();
    if let Some(events) = body["events"].as_array_mut() {
        for event in events {
            event["deliveryContext"]["isRedelivery"] = json!(true);
        }
    }
    body
}

/// Ready-made [`Failure`]s for other documented LINE errors.
pub mod failures {
    use crate::failure::Failure;

    fn message(status: u16, message: &str) -> Failure {
        Failure::Status {
            status,
            code: 0,
            message: message.to_owned(),
        }
    }

    /// 429: the free message quota of the month is used up.
    pub fn monthly_limit() -> Failure {
        message(429, "You have reached your monthly limit.")
    }

    /// 400: a reply token that expired or was already used.
    pub fn invalid_reply_token() -> Failure {
        message(400, "Invalid reply token")
    }
}

/// A push or reply the bot sent.
#[derive(Clone, Debug, PartialEq)]
pub struct LineSent {
    /// `push` or `reply`.
    pub kind: String,
    /// `to` of a push; for a reply, the user the reply token belonged to.
    pub to: String,
    pub reply_token: Option<String>,
    pub retry_key: Option<String>,
    pub messages: Vec<Value>,
    /// The `sentMessages[].id`s the fake answered with.
    pub sent_ids: Vec<String>,
}

/// The fake LINE API. Clones share the server; the last drop stops it.
#[derive(Clone)]
pub struct LineFake {
    server: Arc<Server>,
    state: Arc<State>,
}

/// Test-side handle on one Messaging API channel (one LINE Official Account).
#[derive(Clone)]
pub struct LineChannel {
    state: Arc<State>,
    token: String,
}

struct State {
    channels: Mutex<HashMap<String, Channel>>,
}

struct Channel {
    bot_user_id: String,
    basic_id: String,
    display_name: String,
    users: HashMap<String, String>,
    reply_tokens: HashMap<String, String>,
    content: HashMap<String, (String, Arc<Vec<u8>>)>,
    retry_keys: HashSet<String>,
    sent: Vec<LineSent>,
}

fn message_id() -> String {
    ids::digits(18)
}

/// A ULID-shaped id, like `webhookEventId`.
fn ulid() -> String {
    const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut millis = clock::now_millis() as u64;
    let mut time = [0u8; 10];
    for slot in time.iter_mut().rev() {
        *slot = CROCKFORD[(millis % 32) as usize];
        millis /= 32;
    }
    let random: String = ids::alnum(16)
        .bytes()
        .map(|b| CROCKFORD[(b % 32) as usize] as char)
        .collect();
    format!("{}{random}", String::from_utf8_lossy(&time))
}

impl LineFake {
    /// Starts the fake on 127.0.0.1 (random port) on the current tokio runtime.
    pub async fn start() -> Self {
        let state = Arc::new(State {
            channels: Mutex::new(HashMap::new()),
        });
        let server = Arc::new(Server::start(state.clone()).await);
        Self { server, state }
    }

    /// Stands for `https://api.line.me` and `https://api-data.line.me`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Registers a channel: its access token and its bot (`destination` of webhooks).
    pub fn add_channel(
        &self,
        access_token: &str,
        bot_user_id: &str,
        display_name: &str,
    ) -> LineChannel {
        lock(&self.state.channels).insert(
            access_token.to_owned(),
            Channel {
                bot_user_id: bot_user_id.to_owned(),
                basic_id: format!("@{}", ids::alnum(8).to_ascii_lowercase()),
                display_name: display_name.to_owned(),
                users: HashMap::new(),
                reply_tokens: HashMap::new(),
                content: HashMap::new(),
                retry_keys: HashSet::new(),
                sent: Vec::new(),
            },
        );
        LineChannel {
            state: self.state.clone(),
            token: access_token.to_owned(),
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    pub fn clear_requests(&self) {
        self.server.clear_requests()
    }

    pub async fn wait_for_request(
        &self,
        pred: impl Fn(&Recorded) -> bool,
        timeout: Duration,
    ) -> Option<Recorded> {
        self.server.wait_for_request(pred, timeout).await
    }

    /// Makes the next request whose path contains `path_contains` fail; see the module docs.
    pub fn fail_next(&self, path_contains: &str, failure: Failure) {
        self.server.fail_next(path_contains, failure)
    }
}

impl LineChannel {
    fn with<R>(&self, f: impl FnOnce(&mut Channel) -> R) -> Option<R> {
        lock(&self.state.channels).get_mut(&self.token).map(f)
    }

    /// Makes `user_id` (`U` + 32 hex digits in real life) a friend with a profile.
    pub fn add_user(&self, user_id: &str, display_name: &str) {
        self.with(|c| c.users.insert(user_id.to_owned(), display_name.to_owned()));
    }

    /// Everything the bot pushed or replied, oldest first.
    pub fn sent_messages(&self) -> Vec<LineSent> {
        self.with(|c| c.sent.clone()).unwrap_or_default()
    }

    /// A `message` event from `user_id` (made a friend if needed) with a fresh reply token.
    fn event(&self, user_id: &str, message: Value) -> Value {
        self.with(|c| {
            c.users
                .entry(user_id.to_owned())
                .or_insert_with(|| "LINE user".to_owned());
            let reply_token = ids::hex(32);
            c.reply_tokens
                .insert(reply_token.clone(), user_id.to_owned());
            json!({
                "destination": c.bot_user_id,
                "events": [{
                    "type": "message",
                    "message": message,
                    "webhookEventId": ulid(),
                    "deliveryContext": {"isRedelivery": false},
                    "timestamp": clock::now_millis(),
                    "source": {"type": "user", "userId": user_id},
                    "replyToken": reply_token,
                    "mode": "active",
                }],
            })
        })
        .unwrap_or(Value::Null)
    }

    fn store(&self, mime: &str, bytes: &[u8]) -> String {
        let id = message_id();
        self.with(|c| {
            c.content
                .insert(id.clone(), (mime.to_owned(), Arc::new(bytes.to_vec())))
        });
        id
    }

    /// Webhook body of a text message.
    pub fn webhook_text(&self, user_id: &str, text: &str) -> Value {
        self.event(
            user_id,
            json!({"type": "text", "id": message_id(), "quoteToken": ids::urlsafe(86), "text": text}),
        )
    }

    /// Webhook body of an image (content downloadable by its message id).
    pub fn webhook_image(&self, user_id: &str, mime: &str, bytes: &[u8]) -> Value {
        let id = self.store(mime, bytes);
        self.event(
            user_id,
            json!({"type": "image", "id": id, "quoteToken": ids::urlsafe(86),
                   "contentProvider": {"type": "line"}}),
        )
    }

    /// Webhook body of a file (content downloadable by its message id).
    pub fn webhook_file(&self, user_id: &str, file_name: &str, bytes: &[u8]) -> Value {
        let id = self.store(crate::text::mime_from_name(file_name), bytes);
        self.event(
            user_id,
            json!({"type": "file", "id": id, "fileName": file_name, "fileSize": bytes.len()}),
        )
    }

    /// Webhook body of a location.
    pub fn webhook_location(
        &self,
        user_id: &str,
        title: &str,
        address: &str,
        latitude: f64,
        longitude: f64,
    ) -> Value {
        self.event(
            user_id,
            json!({"type": "location", "id": message_id(), "title": title, "address": address,
                   "latitude": latitude, "longitude": longitude}),
        )
    }

    /// Webhook body of a sticker.
    pub fn webhook_sticker(&self, user_id: &str, package_id: &str, sticker_id: &str) -> Value {
        self.event(
            user_id,
            json!({"type": "sticker", "id": message_id(), "quoteToken": ids::urlsafe(86),
                   "stickerId": sticker_id, "packageId": package_id,
                   "stickerResourceType": "STATIC", "keywords": ["Hello"]}),
        )
    }
}

fn error(status: u16, message: &str) -> Response {
    server::json(status, &json!({ "message": message }))
}

fn invalid(details: Vec<(String, String)>) -> Response {
    let count = details.len();
    server::json(
        400,
        &json!({
            "message": format!("The request body has {count} error(s)"),
            "details": details.into_iter().map(|(message, property)| json!({"message": message, "property": property})).collect::<Vec<_>>(),
        }),
    )
}

/// Checks `messages` like LINE does and lists the problems as (message, property).
fn validate_messages(messages: Option<&Value>) -> Vec<(String, String)> {
    let Some(list) = messages.and_then(Value::as_array) else {
        return vec![("must be specified".into(), "messages".into())];
    };
    if list.is_empty() || list.len() > 5 {
        return vec![("size must be between 1 and 5".into(), "messages".into())];
    }
    let mut problems = Vec::new();
    for (i, m) in list.iter().enumerate() {
        let kind = m["type"].as_str().unwrap_or("");
        let required: &[&str] = match kind {
            "text" => &["text"],
            "image" | "video" => &["originalContentUrl", "previewImageUrl"],
            "audio" => &["originalContentUrl", "duration"],
            "sticker" => &["packageId", "stickerId"],
            "location" => &["title", "address", "latitude", "longitude"],
            "template" | "flex" | "imagemap" => &["altText"],
            "" => {
                problems.push(("must be specified".into(), format!("messages[{i}].type")));
                &[]
            }
            _ => {
                problems.push(("invalid type".into(), format!("messages[{i}].type")));
                &[]
            }
        };
        for field in required {
            let present = match &m[*field] {
                Value::Null => false,
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if !present {
                problems.push(("must be specified".into(), format!("messages[{i}].{field}")));
            }
        }
        if kind == "text" && m["text"].as_str().is_some_and(|t| t.chars().count() > 5000) {
            problems.push((
                "Length must be between 0 and 5000".into(),
                format!("messages[{i}].text"),
            ));
        }
    }
    problems
}

fn sent_messages_json(messages: &[Value], sent_ids: &[String]) -> Value {
    let sent: Vec<Value> = messages
        .iter()
        .zip(sent_ids)
        .map(|(m, id)| {
            let quotable = matches!(
                m["type"].as_str(),
                Some("text" | "sticker" | "image" | "video")
            );
            if quotable {
                json!({"id": id, "quoteToken": ids::urlsafe(86)})
            } else {
                json!({ "id": id })
            }
        })
        .collect();
    json!({ "sentMessages": sent })
}

impl Provider for State {
    async fn handle(self: Arc<Self>, request: Recorded) -> Response {
        let Some(header) = request.header("authorization") else {
            return error(
                401,
                "Authorization header required. Must follow the scheme, 'Authorization: Bearer <ACCESS TOKEN>'",
            );
        };
        let token = match header.trim().split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim().to_owned(),
            _ => {
                return error(
                    401,
                    "Authorization header required. Must follow the scheme, 'Authorization: Bearer <ACCESS TOKEN>'",
                )
            }
        };
        let mut channels = lock(&self.channels);
        let Some(channel) = channels.get_mut(&token) else {
            return error(401, AUTH_FAILED);
        };
        let segments: Vec<&str> = request.path.split('/').filter(|s| !s.is_empty()).collect();
        match (request.method.as_str(), segments.as_slice()) {
            ("POST", ["v2", "bot", "message", "push"]) => push(channel, &request),
            ("POST", ["v2", "bot", "message", "reply"]) => reply(channel, &request),
            ("GET", ["v2", "bot", "info"]) => server::json(
                200,
                &json!({
                    "userId": channel.bot_user_id,
                    "basicId": channel.basic_id,
                    "displayName": channel.display_name,
                    "pictureUrl": "https://profile.line-scdn.net/0hcaixa",
                    "chatMode": "chat",
                    "markAsReadMode": "manual",
                }),
            ),
            ("GET", ["v2", "bot", "profile", user]) => match channel.users.get(*user) {
                Some(name) => server::json(
                    200,
                    &json!({
                        "displayName": name,
                        "userId": user,
                        "language": "en",
                        "pictureUrl": format!("https://profile.line-scdn.net/0h{}", ids::alnum(24)),
                        "statusMessage": "Hello, LINE!",
                    }),
                ),
                None => error(404, "Not found"),
            },
            ("GET", ["v2", "bot", "message", id, "content"]) => match channel.content.get(*id) {
                Some((mime, bytes)) => server::bytes(200, mime, bytes.to_vec()),
                None => error(404, "Not found"),
            },
            _ => error(404, "Not found"),
        }
    }

    fn render_failure(&self, failure: &Failure, _request: &Recorded) -> Response {
        match failure {
            Failure::RateLimited { .. } => error(
                429,
                "The API rate limit has been exceeded. Try again later.",
            ),
            Failure::Unauthorized => error(401, AUTH_FAILED),
            Failure::ServerError => error(500, "Internal server error"),
            Failure::Status {
                status, message, ..
            } => error(*status, message),
            Failure::Raw {
                status,
                content_type,
                body,
            } => server::raw(*status, content_type, body),
        }
    }

    fn decorate(&self, response: &mut Response) {
        server::set_header(response, "x-line-request-id", &uuid_like());
    }
}

fn uuid_like() -> String {
    let h = ids::hex(32);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn body_json(request: &Recorded) -> Result<Value, Box<Response>> {
    match request.body_json() {
        Some(v @ Value::Object(_)) => Ok(v),
        _ => Err(Box::new(error(
            400,
            "The request body could not be parsed as JSON (line: 1, column: 1)",
        ))),
    }
}

fn push(channel: &mut Channel, request: &Recorded) -> Response {
    let body = match body_json(request) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let retry_key = request.header("x-line-retry-key").map(str::to_owned);
    if let Some(key) = &retry_key {
        if channel.retry_keys.contains(key) {
            let previous = channel
                .sent
                .iter()
                .rev()
                .find(|s| s.retry_key.as_ref() == Some(key));
            let mut response = server::json(
                409,
                &json!({
                    "message": "The retry key is already accepted",
                    "sentMessages": previous.map(|p| p.sent_ids.iter().map(|id| json!({"id": id})).collect::<Vec<_>>()).unwrap_or_default(),
                }),
            );
            server::set_header(&mut response, "x-line-accepted-request-id", &uuid_like());
            return response;
        }
    }
    let mut problems = Vec::new();
    let to = body["to"].as_str().unwrap_or("").to_owned();
    if to.is_empty() {
        problems.push(("must be specified".to_owned(), "to".to_owned()));
    }
    problems.extend(validate_messages(body.get("messages")));
    if !problems.is_empty() {
        return invalid(problems);
    }
    if !channel.users.contains_key(&to) {
        return error(400, "Failed to send messages");
    }
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let ids: Vec<String> = messages.iter().map(|_| message_id()).collect();
    if let Some(key) = &retry_key {
        channel.retry_keys.insert(key.clone());
    }
    let response = server::json(200, &sent_messages_json(&messages, &ids));
    channel.sent.push(LineSent {
        kind: "push".into(),
        to,
        reply_token: None,
        retry_key,
        messages,
        sent_ids: ids,
    });
    response
}

fn reply(channel: &mut Channel, request: &Recorded) -> Response {
    let body = match body_json(request) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let mut problems = Vec::new();
    let token = body["replyToken"].as_str().unwrap_or("").to_owned();
    if token.is_empty() {
        problems.push(("must be specified".to_owned(), "replyToken".to_owned()));
    }
    problems.extend(validate_messages(body.get("messages")));
    if !problems.is_empty() {
        return invalid(problems);
    }
    let Some(user) = channel.reply_tokens.remove(&token) else {
        return error(400, "Invalid reply token");
    };
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let ids: Vec<String> = messages.iter().map(|_| message_id()).collect();
    let response = server::json(200, &sent_messages_json(&messages, &ids));
    channel.sent.push(LineSent {
        kind: "reply".into(),
        to: user,
        reply_token: Some(token),
        retry_key: None,
        messages,
        sent_ids: ids,
    });
    response
}
