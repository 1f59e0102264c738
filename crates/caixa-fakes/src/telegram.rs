//! Fake Telegram Bot API (<https://core.telegram.org/bots/api>).
//!
//! Methods live at `{base}/bot<TOKEN>/<method>`, case-insensitively as documented ("All methods
//! in the Bot API are case-insensitive"), so teloxide's `GetUpdates` and curl's `getUpdates`
//! both work. Parameters are read from the query string and from a JSON,
//! `application/x-www-form-urlencoded` or `multipart/form-data` body, as the API allows. Files
//! are downloaded from `{base}/file/bot<TOKEN>/<file_path>`.
//!
//! Implemented methods: `getMe`, `getUpdates` (long polling, offset confirmation, negative
//! offsets, `allowed_updates`), `sendMessage`, `sendPhoto`, `sendDocument` (multipart upload,
//! `attach://<part>` references as teloxide sends them, a known `file_id` or an HTTP URL),
//! `sendChatAction`, `getFile`, `setWebhook`, `deleteWebhook`, `getWebhookInfo`. Any other
//! method answers 404 `Not Found` like the real API does for unknown methods.
//!
//! Injected failures ([`TelegramFake::fail_next`]; matched case-insensitively on the path):
//! - [`Failure::RateLimited`] → 429, `Too Many Requests: retry after N`,
//!   `parameters.retry_after = N`.
//! - [`Failure::Unauthorized`] → 401 `Unauthorized`.
//! - [`Failure::ServerError`] → 500 `Internal Server Error`.
//! - [`Failure::Status`] → `{"ok":false,"error_code":code,"description":message}` with `status`.
//! - [`Failure::Raw`] → exactly the given response.
//!
//! [`failures`] has the common real errors ready-made (chat not found, bot blocked, 409s).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::response::Response;
use serde_json::{json, Map, Value};
use tokio::sync::watch;

use crate::failure::Failure;
use crate::multipart;
use crate::recorder::{lock, Recorded};
use crate::server::{self, Provider, Server};
use crate::{clock, ids, text};

const CONFLICT_OTHER_POLLER: &str =
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running";
const CONFLICT_WEBHOOK: &str = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first";
/// Long polls longer than this are cut short; keeps deadlines far from overflow.
const MAX_POLL_SECS: i64 = 3600;
/// The update types delivered when `allowed_updates` was never set or set to `[]`.
const NOT_DELIVERED_BY_DEFAULT: [&str; 3] =
    ["chat_member", "message_reaction", "message_reaction_count"];

/// Ready-made [`Failure`]s for errors the real Bot API returns.
pub mod failures {
    use crate::failure::Failure;

    fn status(status: u16, message: &str) -> Failure {
        Failure::Status {
            status,
            code: i64::from(status),
            message: message.to_owned(),
        }
    }

    /// 400 `Bad Request: chat not found`.
    pub fn chat_not_found() -> Failure {
        status(400, "Bad Request: chat not found")
    }

    /// 403 `Forbidden: bot was blocked by the user`.
    pub fn bot_blocked() -> Failure {
        status(403, "Forbidden: bot was blocked by the user")
    }

    /// 409 from a `getUpdates` that another poller's request terminated.
    pub fn conflict_other_poller() -> Failure {
        status(409, super::CONFLICT_OTHER_POLLER)
    }

    /// 409 from `getUpdates` while a webhook is set.
    pub fn conflict_webhook() -> Failure {
        status(409, super::CONFLICT_WEBHOOK)
    }
}

/// The person on the other side of a private chat (their user id is the chat id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatInfo {
    pub id: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
}

impl ChatInfo {
    pub fn new(id: i64, first_name: &str) -> Self {
        Self {
            id,
            first_name: first_name.to_owned(),
            last_name: None,
            username: None,
        }
    }

    pub fn with_last_name(mut self, last_name: &str) -> Self {
        self.last_name = Some(last_name.to_owned());
        self
    }

    pub fn with_username(mut self, username: &str) -> Self {
        self.username = Some(username.to_owned());
        self
    }

    fn user_json(&self) -> Value {
        let mut user = json!({"id": self.id, "is_bot": false, "first_name": self.first_name});
        if let Some(last) = &self.last_name {
            user["last_name"] = json!(last);
        }
        if let Some(username) = &self.username {
            user["username"] = json!(username);
        }
        user["language_code"] = json!("en");
        user
    }

    fn chat_json(&self) -> Value {
        let mut chat = json!({"id": self.id, "first_name": self.first_name});
        if let Some(last) = &self.last_name {
            chat["last_name"] = json!(last);
        }
        if let Some(username) = &self.username {
            chat["username"] = json!(username);
        }
        chat["type"] = json!("private");
        chat
    }
}

/// Something the bot sent through `sendMessage`, `sendPhoto` or `sendDocument`.
#[derive(Clone, Debug, PartialEq)]
pub struct SentMessage {
    /// Canonical method name: `sendMessage`, `sendPhoto` or `sendDocument`.
    pub method: String,
    /// The `message_id` the fake answered with.
    pub message_id: i64,
    pub chat_id: i64,
    /// `text` of a `sendMessage`, `caption` of a media message.
    pub text: Option<String>,
    pub parse_mode: Option<String>,
    /// From `reply_to_message_id` or `reply_parameters.message_id`.
    pub reply_to_message_id: Option<i64>,
    pub file: Option<SentFile>,
    /// Every non-file parameter: JSON bodies keep their JSON values, other encodings give
    /// strings (nested objects such as `reply_markup` arrive JSON-serialized in them).
    pub params: Map<String, Value>,
}

/// The file of a media message the bot sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentFile {
    pub source: FileSource,
    /// The `file_id` in the answer (new for uploads and URLs, the given one otherwise).
    pub file_id: String,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    /// Uploaded or reused bytes; empty for URLs (the fake never fetches anything).
    pub bytes: Vec<u8>,
}

/// How the bot designated the file it sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileSource {
    /// Uploaded with `multipart/form-data`.
    Upload,
    /// A `file_id` the fake had issued.
    FileId,
    /// An HTTP URL for Telegram to fetch.
    Url(String),
}

/// The fake Telegram Bot API server. Clones share the server; the last drop stops it.
#[derive(Clone)]
pub struct TelegramFake {
    server: Arc<Server>,
    state: Arc<State>,
}

/// Test-side handle on one bot of a [`TelegramFake`]: inject updates, inspect what it sent.
#[derive(Clone)]
pub struct TelegramBot {
    state: Arc<State>,
    token: String,
}

struct State {
    bots: Mutex<HashMap<String, Bot>>,
    // Bumped on every change a long poll may be waiting for.
    changed: watch::Sender<u64>,
    closed: AtomicBool,
}

struct Bot {
    id: i64,
    username: String,
    first_name: String,
    queue: VecDeque<Value>,
    next_update_id: i64,
    allowed_updates: Option<Vec<String>>,
    webhook_url: Option<String>,
    rival_poller: bool,
    poll_generation: u64,
    chats: HashMap<i64, ChatInfo>,
    files: HashMap<String, StoredFile>,
    file_seq: u64,
    next_message_id: i64,
    sent: Vec<SentMessage>,
}

#[derive(Clone)]
struct StoredFile {
    file_id: String,
    file_unique_id: String,
    file_path: String,
    mime_type: String,
    file_name: Option<String>,
    bytes: Arc<Vec<u8>>,
}

#[derive(Clone, Copy)]
enum FileKind {
    Photo,
    Document,
    Voice,
    Sticker,
}

impl FileKind {
    /// Real file ids start with a type-specific prefix; mimic it so they look familiar.
    fn id_prefix(self) -> &'static str {
        match self {
            FileKind::Photo => "AgACAgQAAxkBAAI",
            FileKind::Document => "BQACAgQAAxkBAAI",
            FileKind::Voice => "AwACAgQAAxkBAAI",
            FileKind::Sticker => "CAACAgQAAxkBAAI",
        }
    }

    fn folder(self) -> &'static str {
        match self {
            FileKind::Photo => "photos",
            FileKind::Document => "documents",
            FileKind::Voice => "voice",
            FileKind::Sticker => "stickers",
        }
    }
}

impl Bot {
    fn user_json(&self) -> Value {
        json!({
            "id": self.id,
            "is_bot": true,
            "first_name": self.first_name,
            "username": self.username,
        })
    }

    fn store_file(
        &mut self,
        kind: FileKind,
        bytes: Vec<u8>,
        mime_type: &str,
        file_name: Option<&str>,
    ) -> StoredFile {
        self.file_seq += 1;
        let ext = match (kind, file_name) {
            (FileKind::Photo, _) => "jpg",
            (FileKind::Voice, _) => "oga",
            (FileKind::Sticker, _) => "webp",
            (FileKind::Document, Some(name)) if name.contains('.') => {
                name.rsplit('.').next().unwrap_or("bin")
            }
            (FileKind::Document, _) => text::extension_for(mime_type),
        };
        let file = StoredFile {
            file_id: format!("{}{}", kind.id_prefix(), ids::urlsafe(56)),
            file_unique_id: format!("AgAD{}", ids::urlsafe(11)),
            file_path: format!("{}/file_{}.{}", kind.folder(), self.file_seq, ext),
            mime_type: mime_type.to_owned(),
            file_name: file_name.map(str::to_owned),
            bytes: Arc::new(bytes),
        };
        self.files.insert(file.file_id.clone(), file.clone());
        file
    }

    fn take_message_id(&mut self) -> i64 {
        self.next_message_id += 1;
        self.next_message_id
    }
}

fn photo_sizes(file: &StoredFile, thumb: &StoredFile) -> Value {
    json!([
        {"file_id": thumb.file_id, "file_unique_id": thumb.file_unique_id,
         "file_size": thumb.bytes.len(), "width": 90, "height": 67},
        {"file_id": file.file_id, "file_unique_id": file.file_unique_id,
         "file_size": file.bytes.len(), "width": 1280, "height": 960},
    ])
}

fn document_json(file: &StoredFile) -> Value {
    let mut doc = json!({});
    if let Some(name) = &file.file_name {
        doc["file_name"] = json!(name);
    }
    doc["mime_type"] = json!(file.mime_type);
    doc["file_id"] = json!(file.file_id);
    doc["file_unique_id"] = json!(file.file_unique_id);
    doc["file_size"] = json!(file.bytes.len());
    doc
}

impl TelegramFake {
    /// Starts the fake on 127.0.0.1 (random port) on the current tokio runtime.
    pub async fn start() -> Self {
        let state = Arc::new(State {
            bots: Mutex::new(HashMap::new()),
            changed: watch::Sender::new(0),
            closed: AtomicBool::new(false),
        });
        let server = Arc::new(Server::start(state.clone()).await);
        Self { server, state }
    }

    /// The API root to configure in the client (teloxide's `Bot::set_api_url`).
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Registers a bot; its id is the number before `:` in the token (as with real tokens).
    pub fn new_bot(&self, token: &str, username: &str) -> TelegramBot {
        let id = token
            .split_once(':')
            .and_then(|(id, _)| id.parse().ok())
            .unwrap_or(7_000_000_001);
        let bot = Bot {
            id,
            username: username.to_owned(),
            first_name: username
                .trim_end_matches("_bot")
                .trim_end_matches("bot")
                .to_owned(),
            queue: VecDeque::new(),
            // Real update ids are large and do not start at 1; clients must not assume 1.
            next_update_id: 504_381_201,
            allowed_updates: None,
            webhook_url: None,
            rival_poller: false,
            poll_generation: 0,
            chats: HashMap::new(),
            files: HashMap::new(),
            file_seq: 0,
            next_message_id: 0,
            sent: Vec::new(),
        };
        lock(&self.state.bots).insert(token.to_owned(), bot);
        self.bot(token).unwrap_or(TelegramBot {
            state: self.state.clone(),
            token: token.to_owned(),
        })
    }

    /// The handle of an already registered bot.
    pub fn bot(&self, token: &str) -> Option<TelegramBot> {
        lock(&self.state.bots)
            .contains_key(token)
            .then(|| TelegramBot {
                state: self.state.clone(),
                token: token.to_owned(),
            })
    }

    /// Every request received so far, rejected ones included.
    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    pub fn clear_requests(&self) {
        self.server.clear_requests()
    }

    /// The first request (past or arriving within `timeout`) matching `pred`.
    pub async fn wait_for_request(
        &self,
        pred: impl Fn(&Recorded) -> bool,
        timeout: Duration,
    ) -> Option<Recorded> {
        self.server.wait_for_request(pred, timeout).await
    }

    /// Makes the next request whose path contains `path_contains` (case-insensitive, e.g.
    /// `"sendMessage"`) fail with `failure`; see the module docs for the bodies.
    pub fn fail_next(&self, path_contains: &str, failure: Failure) {
        self.server.fail_next(path_contains, failure)
    }
}

impl TelegramBot {
    pub fn token(&self) -> &str {
        &self.token
    }

    fn with_bot<R>(&self, f: impl FnOnce(&mut Bot) -> R) -> Option<R> {
        let result = lock(&self.state.bots).get_mut(&self.token).map(f);
        self.state.changed.send_modify(|n| *n += 1);
        result
    }

    /// Queues a `message` update from `chat`; returns its `update_id`.
    fn push_message(
        &self,
        chat: &ChatInfo,
        content: impl FnOnce(&mut Bot) -> Map<String, Value>,
    ) -> i64 {
        self.with_bot(|bot| {
            bot.chats.insert(chat.id, chat.clone());
            let message_id = bot.take_message_id();
            let mut message = json!({
                "message_id": message_id,
                "from": chat.user_json(),
                "chat": chat.chat_json(),
                "date": clock::now_unix(),
            });
            for (k, v) in content(bot) {
                message[k] = v;
            }
            let update_id = bot.next_update_id;
            bot.next_update_id += 1;
            bot.queue
                .push_back(json!({"update_id": update_id, "message": message}));
            update_id
        })
        .unwrap_or(0)
    }

    /// A text message from `chat`. Returns the `update_id`.
    pub fn push_text(&self, chat: &ChatInfo, text: &str) -> i64 {
        self.push_message(chat, |_| {
            let mut m = Map::new();
            m.insert("text".into(), json!(text));
            m
        })
    }

    /// A photo (two `PhotoSize`s, both downloadable) with an optional caption.
    pub fn push_photo(&self, chat: &ChatInfo, bytes: &[u8], caption: Option<&str>) -> i64 {
        self.push_message(chat, |bot| {
            let thumb = bot.store_file(FileKind::Photo, bytes.to_vec(), "image/jpeg", None);
            let file = bot.store_file(FileKind::Photo, bytes.to_vec(), "image/jpeg", None);
            let mut m = Map::new();
            m.insert("photo".into(), photo_sizes(&file, &thumb));
            if let Some(caption) = caption {
                m.insert("caption".into(), json!(caption));
            }
            m
        })
    }

    /// A document (any file) with an optional caption.
    pub fn push_document(
        &self,
        chat: &ChatInfo,
        file_name: &str,
        mime: &str,
        bytes: &[u8],
        caption: Option<&str>,
    ) -> i64 {
        self.push_message(chat, |bot| {
            let file = bot.store_file(FileKind::Document, bytes.to_vec(), mime, Some(file_name));
            let mut m = Map::new();
            m.insert("document".into(), document_json(&file));
            if let Some(caption) = caption {
                m.insert("caption".into(), json!(caption));
            }
            m
        })
    }

    /// A voice note (`audio/ogg`).
    pub fn push_voice(&self, chat: &ChatInfo, bytes: &[u8], duration_secs: u32) -> i64 {
        self.push_message(chat, |bot| {
            let file = bot.store_file(FileKind::Voice, bytes.to_vec(), "audio/ogg", None);
            let mut m = Map::new();
            m.insert(
                "voice".into(),
                json!({"duration": duration_secs, "mime_type": file.mime_type,
                       "file_id": file.file_id, "file_unique_id": file.file_unique_id,
                       "file_size": file.bytes.len()}),
            );
            m
        })
    }

    /// A shared location.
    pub fn push_location(&self, chat: &ChatInfo, latitude: f64, longitude: f64) -> i64 {
        self.push_message(chat, |_| {
            let mut m = Map::new();
            m.insert(
                "location".into(),
                json!({"latitude": latitude, "longitude": longitude}),
            );
            m
        })
    }

    /// A sticker: a message kind a helpdesk typically does not support.
    pub fn push_sticker(&self, chat: &ChatInfo, emoji: &str) -> i64 {
        self.push_message(chat, |bot| {
            let thumb = bot.store_file(FileKind::Photo, vec![0; 16], "image/webp", None);
            let file = bot.store_file(FileKind::Sticker, vec![0; 64], "image/webp", None);
            let mut m = Map::new();
            m.insert(
                "sticker".into(),
                json!({
                    "width": 512, "height": 512, "emoji": emoji, "set_name": "CaixaTestStickers",
                    "is_animated": false, "is_video": false, "type": "regular",
                    "thumbnail": {"file_id": thumb.file_id, "file_unique_id": thumb.file_unique_id,
                                  "file_size": thumb.bytes.len(), "width": 128, "height": 128},
                    "file_id": file.file_id, "file_unique_id": file.file_unique_id,
                    "file_size": file.bytes.len(),
                }),
            );
            m
        })
    }

    /// Any other update: `kind` is the Update field (`edited_message`, `callback_query`, …)
    /// and `object` its value. Returns the `update_id`.
    pub fn push_update(&self, kind: &str, object: Value) -> i64 {
        self.with_bot(|bot| {
            let update_id = bot.next_update_id;
            bot.next_update_id += 1;
            let mut update = json!({"update_id": update_id});
            update[kind] = object;
            bot.queue.push_back(update);
            update_id
        })
        .unwrap_or(0)
    }

    /// Lets the bot send to `chat` without the chat having written first.
    pub fn add_chat(&self, chat: &ChatInfo) {
        self.with_bot(|bot| {
            bot.chats.insert(chat.id, chat.clone());
        });
    }

    /// With `true`, a webhook is set: `getUpdates` answers 409 (webhook variant) and pending
    /// long polls end with it, until `deleteWebhook` or `set_webhook_active(false)`.
    pub fn set_webhook_active(&self, active: bool) {
        self.with_bot(|bot| {
            bot.webhook_url = active.then(|| "https://caixa.invalid/telegram-webhook".to_owned());
            bot.poll_generation += 1;
        });
    }

    /// With `true`, another bot instance keeps polling: every `getUpdates` (pending ones too)
    /// answers 409 `terminated by other getUpdates request` until set back to `false`.
    /// (Two overlapping `getUpdates` from the client itself also end the older with that 409.)
    pub fn simulate_other_poller(&self, active: bool) {
        self.with_bot(|bot| {
            bot.rival_poller = active;
            bot.poll_generation += 1;
        });
    }

    /// Updates queued and not yet confirmed by an `offset`.
    pub fn pending_updates(&self) -> usize {
        self.with_bot(|bot| bot.queue.len()).unwrap_or(0)
    }

    /// Everything the bot sent, oldest first.
    pub fn sent_messages(&self) -> Vec<SentMessage> {
        self.with_bot(|bot| bot.sent.clone()).unwrap_or_default()
    }
}

// ---- request handling -------------------------------------------------------------------

enum Param {
    Text(String),
    Json(Value),
    File(multipart::Part),
}

struct Params(HashMap<String, Param>);

/// A file parameter resolved to what it designates.
enum InputFile {
    Upload(multipart::Part),
    FileId(String),
    Url(String),
}

impl Params {
    fn parse(request: &Recorded) -> Result<Self, String> {
        let mut map = HashMap::new();
        for (k, v) in request.query_pairs() {
            map.insert(k, Param::Text(v));
        }
        let content_type = request
            .header("content-type")
            .unwrap_or("")
            .to_ascii_lowercase();
        if request.body.is_empty() {
            return Ok(Self(map));
        }
        if content_type.starts_with("application/json") {
            match serde_json::from_slice::<Value>(&request.body) {
                Ok(Value::Object(object)) => {
                    for (k, v) in object {
                        map.insert(k, Param::Json(v));
                    }
                }
                _ => return Err("Bad Request: can't parse JSON object".into()),
            }
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            for (k, v) in request.body_form() {
                map.insert(k, Param::Text(v));
            }
        } else if content_type.starts_with("multipart/form-data") {
            let original = request.header("content-type").unwrap_or("");
            let boundary = multipart::boundary(original)
                .ok_or("Bad Request: can't parse multipart/form-data request")?;
            let parts = multipart::parse(&request.body, &boundary)
                .map_err(|_| "Bad Request: can't parse multipart/form-data request")?;
            for part in parts {
                let param = if part.file_name.is_some() {
                    Param::File(part.clone())
                } else {
                    Param::Text(String::from_utf8_lossy(&part.data).into_owned())
                };
                map.insert(part.name, param);
            }
        }
        Ok(Self(map))
    }

    fn text(&self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            Param::Text(s) => Some(s.clone()),
            Param::Json(Value::String(s)) => Some(s.clone()),
            Param::Json(Value::Null) => None,
            Param::Json(v) => Some(v.to_string()),
            Param::File(_) => None,
        }
    }

    fn int(&self, key: &str) -> Option<i64> {
        match self.0.get(key)? {
            Param::Json(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            _ => self.text(key)?.trim().parse().ok(),
        }
    }

    fn bool(&self, key: &str) -> Option<bool> {
        match self.0.get(key)? {
            Param::Json(Value::Bool(b)) => Some(*b),
            _ => match self.text(key)?.trim() {
                "true" | "True" | "1" => Some(true),
                "false" | "False" | "0" => Some(false),
                _ => None,
            },
        }
    }

    /// Structured parameters arrive as JSON values or, in other encodings, JSON-serialized.
    fn json(&self, key: &str) -> Option<Value> {
        match self.0.get(key)? {
            Param::Json(v) => Some(v.clone()),
            Param::Text(s) => serde_json::from_str(s).ok(),
            Param::File(_) => None,
        }
    }

    fn file(&self, key: &str) -> Option<InputFile> {
        if let Param::File(part) = self.0.get(key)? {
            return Some(InputFile::Upload(part.clone()));
        }
        let value = self.text(key)?;
        if let Some(name) = value.strip_prefix("attach://") {
            return match self.0.get(name) {
                Some(Param::File(part)) => Some(InputFile::Upload(part.clone())),
                _ => None,
            };
        }
        if value.starts_with("http://") || value.starts_with("https://") {
            Some(InputFile::Url(value))
        } else {
            Some(InputFile::FileId(value))
        }
    }

    /// Every non-file parameter, for [`SentMessage::params`].
    fn to_map(&self) -> Map<String, Value> {
        let mut keys: Vec<_> = self.0.keys().collect();
        keys.sort();
        keys.into_iter()
            .filter_map(|k| match &self.0[k] {
                Param::Text(s) => Some((k.clone(), json!(s))),
                Param::Json(v) => Some((k.clone(), v.clone())),
                Param::File(_) => None,
            })
            .collect()
    }
}

fn ok(result: Value) -> Response {
    server::json(200, &json!({"ok": true, "result": result}))
}

fn ok_described(result: Value, description: &str) -> Response {
    server::json(
        200,
        &json!({"ok": true, "result": result, "description": description}),
    )
}

fn error(code: u16, description: &str) -> Response {
    server::json(
        code,
        &json!({"ok": false, "error_code": code, "description": description}),
    )
}

impl Provider for State {
    async fn handle(self: Arc<Self>, request: Recorded) -> Response {
        if let Some(rest) = request.path.strip_prefix("/file/bot") {
            return self.download(rest);
        }
        let Some(rest) = request.path.strip_prefix("/bot") else {
            return error(404, "Not Found");
        };
        let Some((token, method)) = rest.split_once('/') else {
            return error(404, "Not Found");
        };
        let token = text::percent_decode(token);
        if !lock(&self.bots).contains_key(&token) {
            return error(401, "Unauthorized");
        }
        let params = match Params::parse(&request) {
            Ok(params) => params,
            Err(description) => return error(400, &description),
        };
        match method.to_ascii_lowercase().as_str() {
            "getme" => self.get_me(&token),
            "getupdates" => self.get_updates(&token, &params).await,
            "sendmessage" => self.send(&token, "sendMessage", &params),
            "sendphoto" => self.send(&token, "sendPhoto", &params),
            "senddocument" => self.send(&token, "sendDocument", &params),
            "sendchataction" => self.send_chat_action(&token, &params),
            "getfile" => self.get_file(&token, &params),
            "setwebhook" => self.set_webhook(&token, &params),
            "deletewebhook" => self.delete_webhook(&token, &params),
            "getwebhookinfo" => self.webhook_info(&token),
            _ => error(404, "Not Found"),
        }
    }

    fn render_failure(&self, failure: &Failure, _request: &Recorded) -> Response {
        match failure {
            Failure::RateLimited { retry_after_secs } => server::json(
                429,
                &json!({
                    "ok": false,
                    "error_code": 429,
                    "description": format!("Too Many Requests: retry after {retry_after_secs}"),
                    "parameters": {"retry_after": retry_after_secs},
                }),
            ),
            Failure::Unauthorized => error(401, "Unauthorized"),
            Failure::ServerError => error(500, "Internal Server Error"),
            Failure::Status {
                status,
                code,
                message,
            } => server::json(
                *status,
                &json!({"ok": false, "error_code": code, "description": message}),
            ),
            Failure::Raw {
                status,
                content_type,
                body,
            } => server::raw(*status, content_type, body),
        }
    }

    fn stopped(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.changed.send_modify(|n| *n += 1);
    }
}

impl State {
    fn bump(&self) {
        self.changed.send_modify(|n| *n += 1);
    }

    fn with_bot<R>(&self, token: &str, f: impl FnOnce(&mut Bot) -> R) -> Option<R> {
        lock(&self.bots).get_mut(token).map(f)
    }

    fn get_me(&self, token: &str) -> Response {
        self.with_bot(token, |bot| {
            let mut me = bot.user_json();
            me["can_join_groups"] = json!(true);
            me["can_read_all_group_messages"] = json!(false);
            me["supports_inline_queries"] = json!(false);
            me["can_connect_to_business"] = json!(false);
            me["has_main_web_app"] = json!(false);
            ok(me)
        })
        .unwrap_or_else(|| error(401, "Unauthorized"))
    }

    async fn get_updates(&self, token: &str, params: &Params) -> Response {
        let offset = params.int("offset").unwrap_or(0);
        let limit = params.int("limit").unwrap_or(100).clamp(1, 100) as usize;
        let timeout = params.int("timeout").unwrap_or(0).clamp(0, MAX_POLL_SECS);
        let allowed = params.json("allowed_updates").and_then(|v| {
            v.as_array().map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect::<Vec<_>>()
            })
        });
        // Subscribe before looking at the queue so no push can slip in unnoticed.
        let mut changes = self.changed.subscribe();
        let generation = {
            let mut bots = lock(&self.bots);
            let Some(bot) = bots.get_mut(token) else {
                return error(401, "Unauthorized");
            };
            if bot.webhook_url.is_some() {
                return error(409, CONFLICT_WEBHOOK);
            }
            if bot.rival_poller {
                return error(409, CONFLICT_OTHER_POLLER);
            }
            if let Some(allowed) = allowed {
                bot.allowed_updates = Some(allowed);
            }
            if offset > 0 {
                bot.queue
                    .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
            } else if offset < 0 {
                let keep = offset.unsigned_abs() as usize;
                while bot.queue.len() > keep {
                    bot.queue.pop_front();
                }
            }
            bot.poll_generation += 1;
            bot.poll_generation
        };
        // Wake an older long poll of this bot so it ends with the 409 it would get for real.
        self.bump();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout as u64);
        loop {
            {
                let mut bots = lock(&self.bots);
                let Some(bot) = bots.get_mut(token) else {
                    return error(401, "Unauthorized");
                };
                if bot.webhook_url.is_some() {
                    return error(409, CONFLICT_WEBHOOK);
                }
                if bot.poll_generation != generation {
                    return error(409, CONFLICT_OTHER_POLLER);
                }
                let batch = deliverable(bot, limit);
                if !batch.is_empty()
                    || tokio::time::Instant::now() >= deadline
                    || self.closed.load(Ordering::SeqCst)
                {
                    return ok(Value::Array(batch));
                }
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return ok(json!([])),
                Err(_) => {}
            }
        }
    }

    fn send(&self, token: &str, method: &str, params: &Params) -> Response {
        let Some(chat_id) = params.int("chat_id") else {
            return match params.text("chat_id") {
                Some(_) => error(400, "Bad Request: chat not found"),
                None => error(400, "Bad Request: chat_id is empty"),
            };
        };
        let result = self.with_bot(token, |bot| {
            let Some(chat) = bot.chats.get(&chat_id).cloned() else {
                return Err(Box::new(error(400, "Bad Request: chat not found")));
            };
            let text = match method {
                "sendMessage" => {
                    let text = params.text("text").unwrap_or_default();
                    if text.is_empty() {
                        return Err(Box::new(error(400, "Bad Request: message text is empty")));
                    }
                    if text.chars().count() > 4096 {
                        return Err(Box::new(error(400, "Bad Request: message is too long")));
                    }
                    Some(text)
                }
                _ => {
                    let caption = params.text("caption");
                    if caption.as_ref().is_some_and(|c| c.chars().count() > 1024) {
                        return Err(Box::new(error(
                            400,
                            "Bad Request: message caption is too long",
                        )));
                    }
                    caption
                }
            };
            let mut message = json!({
                "message_id": 0,
                "from": bot.user_json(),
                "chat": chat.chat_json(),
                "date": clock::now_unix(),
            });
            let file = match method {
                "sendPhoto" => {
                    let (stored, thumb, sent) =
                        resolve_file(bot, params, "photo", FileKind::Photo)?;
                    message["photo"] = photo_sizes(&stored, &thumb);
                    Some(sent)
                }
                "sendDocument" => {
                    let (stored, _, sent) =
                        resolve_file(bot, params, "document", FileKind::Document)?;
                    message["document"] = document_json(&stored);
                    Some(sent)
                }
                _ => None,
            };
            if let Some(text) = &text {
                let field = if method == "sendMessage" {
                    "text"
                } else {
                    "caption"
                };
                message[field] = json!(text);
            }
            let message_id = bot.take_message_id();
            message["message_id"] = json!(message_id);
            bot.sent.push(SentMessage {
                method: method.to_owned(),
                message_id,
                chat_id,
                text,
                parse_mode: params.text("parse_mode"),
                reply_to_message_id: params.int("reply_to_message_id").or_else(|| {
                    params
                        .json("reply_parameters")
                        .and_then(|r| r["message_id"].as_i64())
                }),
                file,
                params: params.to_map(),
            });
            Ok(ok(message))
        });
        self.bump();
        match result {
            Some(Ok(response)) => response,
            Some(Err(response)) => *response,
            None => error(401, "Unauthorized"),
        }
    }

    fn send_chat_action(&self, token: &str, params: &Params) -> Response {
        let Some(chat_id) = params.int("chat_id") else {
            return error(400, "Bad Request: chat_id is empty");
        };
        if params.text("action").is_none_or(|a| a.is_empty()) {
            return error(400, "Bad Request: action is empty");
        }
        self.with_bot(token, |bot| {
            if bot.chats.contains_key(&chat_id) {
                ok(json!(true))
            } else {
                error(400, "Bad Request: chat not found")
            }
        })
        .unwrap_or_else(|| error(401, "Unauthorized"))
    }

    fn get_file(&self, token: &str, params: &Params) -> Response {
        let file_id = params.text("file_id").unwrap_or_default();
        self.with_bot(token, |bot| match bot.files.get(&file_id) {
            Some(file) => ok(json!({
                "file_id": file.file_id,
                "file_unique_id": file.file_unique_id,
                "file_size": file.bytes.len(),
                "file_path": file.file_path,
            })),
            None => error(400, "Bad Request: invalid file_id"),
        })
        .unwrap_or_else(|| error(401, "Unauthorized"))
    }

    fn set_webhook(&self, token: &str, params: &Params) -> Response {
        let url = params.text("url").unwrap_or_default();
        let response = self.with_bot(token, |bot| {
            if url.is_empty() {
                let was_set = bot.webhook_url.take().is_some();
                let description = if was_set {
                    "Webhook was deleted"
                } else {
                    "Webhook is already deleted"
                };
                return ok_described(json!(true), description);
            }
            let already = bot.webhook_url.as_deref() == Some(url.as_str());
            bot.webhook_url = Some(url.clone());
            bot.poll_generation += 1;
            if params.bool("drop_pending_updates") == Some(true) {
                bot.queue.clear();
            }
            let description = if already {
                "Webhook is already set"
            } else {
                "Webhook was set"
            };
            ok_described(json!(true), description)
        });
        self.bump();
        response.unwrap_or_else(|| error(401, "Unauthorized"))
    }

    fn delete_webhook(&self, token: &str, params: &Params) -> Response {
        let response = self.with_bot(token, |bot| {
            let was_set = bot.webhook_url.take().is_some();
            if params.bool("drop_pending_updates") == Some(true) {
                bot.queue.clear();
            }
            let description = if was_set {
                "Webhook was deleted"
            } else {
                "Webhook is already deleted"
            };
            ok_described(json!(true), description)
        });
        self.bump();
        response.unwrap_or_else(|| error(401, "Unauthorized"))
    }

    fn webhook_info(&self, token: &str) -> Response {
        self.with_bot(token, |bot| {
            let mut info = json!({
                "url": bot.webhook_url.clone().unwrap_or_default(),
                "has_custom_certificate": false,
                "pending_update_count": bot.queue.len(),
            });
            if bot.webhook_url.is_some() {
                info["max_connections"] = json!(40);
                info["ip_address"] = json!("127.0.0.1");
            }
            if let Some(allowed) = &bot.allowed_updates {
                info["allowed_updates"] = json!(allowed);
            }
            ok(info)
        })
        .unwrap_or_else(|| error(401, "Unauthorized"))
    }

    fn download(&self, rest: &str) -> Response {
        let Some((token, file_path)) = rest.split_once('/') else {
            return error(404, "Not Found");
        };
        let token = text::percent_decode(token);
        let file_path = text::percent_decode(file_path);
        self.with_bot(&token, |bot| {
            match bot.files.values().find(|f| f.file_path == file_path) {
                Some(file) => server::bytes(200, &file.mime_type, file.bytes.to_vec()),
                None => error(404, "Not Found"),
            }
        })
        .unwrap_or_else(|| error(401, "Unauthorized"))
    }
}

/// Takes up to `limit` queued updates the bot subscribed to; unsubscribed kinds are dropped,
/// as the real server never generates them.
fn deliverable(bot: &mut Bot, limit: usize) -> Vec<Value> {
    let allowed = bot.allowed_updates.clone().unwrap_or_default();
    let wanted = |update: &Value| {
        let kind = update
            .as_object()
            .and_then(|o| o.keys().find(|k| k.as_str() != "update_id").cloned())
            .unwrap_or_default();
        if allowed.is_empty() {
            !NOT_DELIVERED_BY_DEFAULT.contains(&kind.as_str())
        } else {
            allowed.contains(&kind)
        }
    };
    bot.queue.retain(wanted);
    bot.queue.iter().take(limit).cloned().collect()
}

/// Resolves a photo/document parameter to a stored file (plus a thumbnail for photos) and the
/// record of what was sent.
fn resolve_file(
    bot: &mut Bot,
    params: &Params,
    field: &str,
    kind: FileKind,
) -> Result<(StoredFile, StoredFile, SentFile), Box<Response>> {
    let missing = || {
        error(
            400,
            &format!("Bad Request: there is no {field} in the request"),
        )
    };
    let input = params.file(field).ok_or_else(missing)?;
    let (stored, source) = match input {
        InputFile::Upload(part) => {
            let name = part.file_name.clone().filter(|n| !n.is_empty());
            let mime = match (&part.content_type, kind) {
                (_, FileKind::Photo) => "image/jpeg".to_owned(),
                (Some(ct), _) if ct != "application/octet-stream" => ct.clone(),
                _ => text::mime_from_name(name.as_deref().unwrap_or("")).to_owned(),
            };
            let name = name.or_else(|| {
                matches!(kind, FileKind::Document)
                    .then(|| format!("document.{}", text::extension_for(&mime)))
            });
            (
                bot.store_file(kind, part.data, &mime, name.as_deref()),
                FileSource::Upload,
            )
        }
        InputFile::FileId(id) => match bot.files.get(&id) {
            Some(file) => (file.clone(), FileSource::FileId),
            None => {
                return Err(Box::new(error(
                    400,
                    "Bad Request: wrong file identifier/HTTP URL specified",
                )))
            }
        },
        InputFile::Url(url) => {
            let name = url
                .rsplit('/')
                .next()
                .filter(|n| !n.is_empty() && n.contains('.'))
                .map(str::to_owned);
            let mime = text::mime_from_name(name.as_deref().unwrap_or("")).to_owned();
            (
                bot.store_file(kind, Vec::new(), &mime, name.as_deref()),
                FileSource::Url(url),
            )
        }
    };
    let thumb = match kind {
        FileKind::Photo => {
            bot.store_file(FileKind::Photo, stored.bytes.to_vec(), "image/jpeg", None)
        }
        _ => stored.clone(),
    };
    let sent = SentFile {
        source,
        file_id: stored.file_id.clone(),
        file_name: stored.file_name.clone(),
        mime_type: Some(stored.mime_type.clone()),
        bytes: stored.bytes.to_vec(),
    };
    Ok((stored, thumb, sent))
}
