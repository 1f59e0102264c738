//! Fake X API v2 Direct Messages (<https://docs.x.com/x-api/direct-messages>).
//!
//! Paths (below [`XFake::base_url`], standing for `https://api.x.com`):
//! - `GET /2/dm_events`, `GET /2/dm_conversations/with/{participant_id}/dm_events`,
//!   `GET /2/dm_conversations/{dm_conversation_id}/dm_events`: newest first; `max_results`
//!   (1–100, default 100), `pagination_token`, `event_types`, `dm_event.fields` (`id`,
//!   `event_type`, `text` by default; also `dm_conversation_id`, `created_at`, `sender_id`,
//!   `attachments`, `participant_ids`), `expansions` (`sender_id`, `participant_ids`,
//!   `attachments.media_keys`), `user.fields`, `media.fields`; answers `data`, `includes`,
//!   `meta.result_count`, `meta.next_token`, `meta.previous_token`.
//! - `POST /2/dm_conversations/with/{participant_id}/messages` and
//!   `POST /2/dm_conversations/{dm_conversation_id}/messages` with `{"text"}` and/or
//!   `{"attachments":[{"media_id"}]}` → 201 `{"data":{"dm_conversation_id","dm_event_id"}}`.
//! - `GET /2/users/me` (with `user.fields`).
//! - `POST /2/media/upload` (multipart: `media` file, `media_category` `dm_image`, `dm_gif`,
//!   `dm_video`, `tweet_image`…, optional `media_type`) → `{"data":{"id","media_key","size",
//!   "expires_after_secs"}}`; a DM may attach only media uploaded this way.
//!
//! Auth: `Authorization: Bearer <OAuth 2.0 user token>`; otherwise 401
//! `{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}`.
//! Every authenticated response carries `x-rate-limit-limit`, `x-rate-limit-remaining` and
//! `x-rate-limit-reset` (per endpoint, 15-minute windows); an exhausted endpoint answers 429.
//!
//! Injected failures ([`XFake::fail_next`], matched on the path):
//! - [`Failure::RateLimited`] → 429 `{"title":"Too Many Requests","detail":"Too Many
//!   Requests","type":"about:blank","status":429}` with `x-rate-limit-remaining: 0` and
//!   `x-rate-limit-reset` = now + `retry_after_secs`.
//! - [`Failure::Unauthorized`] → the 401 above. [`Failure::ServerError`]: 503 `Service
//!   Unavailable` in the same problem shape.
//! - [`Failure::Status`] → `{"title": <reason phrase>, "detail": message, "type":
//!   "about:blank", "status"}` (`code` unused).
//! - [`Failure::Raw`] → exactly the given response.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value};

use crate::failure::Failure;
use crate::recorder::{lock, Recorded};
use crate::server::{self, Provider, Server};
use crate::{clock, ids};

/// Twitter's snowflake epoch (2010-11-04T01:42:54.657Z).
const SNOWFLAKE_EPOCH_MS: i64 = 1_288_834_974_657;
const WINDOW_SECS: i64 = 15 * 60;
/// Endpoints with their per-window request limits (user context).
const ENDPOINTS: [(&str, u32); 5] = [
    ("GET dm_events", 300),
    ("GET conversation dm_events", 300),
    ("POST messages", 200),
    ("GET users/me", 75),
    ("POST media/upload", 500),
];

/// A message the authenticated user sent.
#[derive(Clone, Debug, PartialEq)]
pub struct XSentDm {
    pub dm_event_id: String,
    pub dm_conversation_id: String,
    pub participant_id: String,
    pub text: Option<String>,
    /// `media_id`s of `attachments`.
    pub media_ids: Vec<String>,
    pub body: Value,
}

/// The fake X API. Clones share the server; the last drop stops it.
#[derive(Clone)]
pub struct XFake {
    server: Arc<Server>,
    state: Arc<State>,
}

/// Test-side handle on one authenticated user (the account whose DMs Caixa reads).
#[derive(Clone)]
pub struct XAccount {
    state: Arc<State>,
    token: String,
}

struct State {
    inner: Mutex<Inner>,
}

struct Inner {
    users: HashMap<String, (String, String)>,
    accounts: HashMap<String, Account>,
    buckets: HashMap<&'static str, Bucket>,
    last_snowflake: i64,
    /// Uploaded media by id: (category, content type, bytes).
    uploads: HashMap<String, (String, String, Vec<u8>)>,
}

struct Account {
    user_id: String,
    /// Oldest first.
    events: Vec<Event>,
    sent: Vec<XSentDm>,
}

#[derive(Clone)]
struct Event {
    id: String,
    text: String,
    sender_id: String,
    conversation_id: String,
    created_ms: i64,
    media: Vec<(String, String)>,
}

#[derive(Clone, Copy)]
struct Bucket {
    limit: u32,
    remaining: u32,
    reset: i64,
}

fn conversation_id(a: &str, b: &str) -> String {
    let (a_n, b_n) = (
        a.parse::<u128>().unwrap_or(0),
        b.parse::<u128>().unwrap_or(0),
    );
    if (a_n, a) <= (b_n, b) {
        format!("{a}-{b}")
    } else {
        format!("{b}-{a}")
    }
}

/// RFC 4648 base32 without padding: pagination tokens are documented as base32.
fn base32(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in data {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn unbase32(s: &str) -> Option<Vec<u8>> {
    let (mut buffer, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

fn problem(status: u16, title: &str, detail: &str) -> Response {
    server::json(
        status,
        &json!({"title": title, "detail": detail, "type": "about:blank", "status": status}),
    )
}

fn unauthorized() -> Response {
    server::json(
        401,
        &json!({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}),
    )
}

fn invalid_request(parameter: &str, value: &str, message: &str) -> Response {
    server::json(
        400,
        &json!({
            "errors": [{"parameters": {parameter: [value]}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        }),
    )
}

fn rate_headers(response: &mut Response, bucket: Bucket) {
    server::set_header(response, "x-rate-limit-limit", &bucket.limit.to_string());
    server::set_header(
        response,
        "x-rate-limit-remaining",
        &bucket.remaining.to_string(),
    );
    server::set_header(response, "x-rate-limit-reset", &bucket.reset.to_string());
}

impl Inner {
    fn snowflake(&mut self) -> String {
        let candidate = (clock::now_millis() - SNOWFLAKE_EPOCH_MS) << 22;
        self.last_snowflake = candidate.max(self.last_snowflake + 1);
        self.last_snowflake.to_string()
    }

    fn user_json(&self, id: &str, fields: &[&str]) -> Value {
        let (username, name) = self.users.get(id).cloned().unwrap_or_default();
        let mut user = json!({"id": id, "name": name, "username": username});
        for field in fields {
            let value = match *field {
                "profile_image_url" => json!(format!(
                    "https://pbs.twimg.com/profile_images/{id}/avatar_normal.jpg"
                )),
                "protected" | "verified" => json!(false),
                "description" | "location" | "url" => json!(""),
                "created_at" => json!("2015-06-01T12:00:00.000Z"),
                _ => continue,
            };
            user[*field] = value;
        }
        user
    }
}

impl XFake {
    /// An uploaded media item: `(media_category, content type, bytes)`.
    pub fn upload(&self, media_id: &str) -> Option<(String, String, Vec<u8>)> {
        lock(&self.state.inner).uploads.get(media_id).cloned()
    }

    /// Starts the fake on 127.0.0.1 (random port) on the current tokio runtime.
    pub async fn start() -> Self {
        let now = clock::now_unix();
        let state = Arc::new(State {
            inner: Mutex::new(Inner {
                users: HashMap::new(),
                accounts: HashMap::new(),
                uploads: HashMap::new(),
                buckets: ENDPOINTS
                    .iter()
                    .map(|(name, limit)| {
                        (
                            *name,
                            Bucket {
                                limit: *limit,
                                remaining: *limit,
                                reset: now + WINDOW_SECS,
                            },
                        )
                    })
                    .collect(),
                last_snowflake: 0,
            }),
        });
        let server = Arc::new(Server::start(state.clone()).await);
        Self { server, state }
    }

    /// Stands for `https://api.x.com` (or `https://api.twitter.com`).
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Registers a user and the OAuth 2.0 user-context token that acts as them.
    pub fn add_user_token(
        &self,
        access_token: &str,
        user_id: &str,
        username: &str,
        name: &str,
    ) -> XAccount {
        let mut inner = lock(&self.state.inner);
        inner
            .users
            .insert(user_id.to_owned(), (username.to_owned(), name.to_owned()));
        inner.accounts.insert(
            access_token.to_owned(),
            Account {
                user_id: user_id.to_owned(),
                events: Vec::new(),
                sent: Vec::new(),
            },
        );
        XAccount {
            state: self.state.clone(),
            token: access_token.to_owned(),
        }
    }

    /// Sets every endpoint's remaining requests and reset time (unix seconds); the counter
    /// refills to its limit once `reset` has passed.
    pub fn set_rate_limit(&self, remaining: u32, reset: i64) {
        for bucket in lock(&self.state.inner).buckets.values_mut() {
            bucket.remaining = remaining.min(bucket.limit);
            bucket.reset = reset;
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

impl XAccount {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut lock(&self.state.inner))
    }

    /// Makes `user_id` known (a DM contact the account may write to).
    pub fn add_contact(&self, user_id: &str, username: &str, name: &str) {
        self.with(|i| {
            i.users
                .insert(user_id.to_owned(), (username.to_owned(), name.to_owned()))
        });
    }

    /// A DM from `sender_id` to this account. Returns the `dm_event_id`.
    pub fn push_dm(&self, sender_id: &str, username: &str, name: &str, text: &str) -> String {
        self.push(sender_id, username, name, text, Vec::new())
    }

    /// A DM with one attached media item (`photo`, `video` or `animated_gif`).
    pub fn push_dm_with_media(
        &self,
        sender_id: &str,
        username: &str,
        name: &str,
        text: &str,
        media_type: &str,
    ) -> String {
        let key = format!("3_{}", ids::digits(19));
        self.push(
            sender_id,
            username,
            name,
            text,
            vec![(key, media_type.to_owned())],
        )
    }

    fn push(
        &self,
        sender_id: &str,
        username: &str,
        name: &str,
        text: &str,
        media: Vec<(String, String)>,
    ) -> String {
        self.with(|inner| {
            inner
                .users
                .insert(sender_id.to_owned(), (username.to_owned(), name.to_owned()));
            let id = inner.snowflake();
            let Some(account) = inner.accounts.get_mut(&self.token) else {
                return String::new();
            };
            account.events.push(Event {
                id: id.clone(),
                text: text.to_owned(),
                sender_id: sender_id.to_owned(),
                conversation_id: conversation_id(sender_id, &account.user_id),
                created_ms: clock::now_millis(),
                media,
            });
            id
        })
    }

    /// Everything the account sent, oldest first.
    pub fn sent_dms(&self) -> Vec<XSentDm> {
        self.with(|i| i.accounts.get(&self.token).map(|a| a.sent.clone()))
            .unwrap_or_default()
    }
}

fn query(request: &Recorded) -> HashMap<String, String> {
    request.query_pairs().into_iter().collect()
}

fn list(query: &HashMap<String, String>, key: &str) -> Vec<String> {
    query
        .get(key)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

impl Provider for State {
    async fn handle(self: Arc<Self>, request: Recorded) -> Response {
        let token = request
            .header("authorization")
            .and_then(|h| h.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim().to_owned());
        let mut inner = lock(&self.inner);
        let Some(token) = token.filter(|t| inner.accounts.contains_key(t)) else {
            return unauthorized();
        };
        let segments: Vec<String> = request
            .path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(crate::text::percent_decode)
            .collect();
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        let endpoint = match (request.method.as_str(), segs.as_slice()) {
            ("GET", ["2", "dm_events"]) => "GET dm_events",
            ("GET", ["2", "dm_conversations", .., "dm_events"]) => "GET conversation dm_events",
            ("POST", ["2", "dm_conversations", .., "messages"]) => "POST messages",
            ("GET", ["2", "users", "me"]) => "GET users/me",
            ("POST", ["2", "media", "upload"]) => "POST media/upload",
            _ => return problem(404, "Not Found Error", "Sorry, that page does not exist."),
        };
        let now = clock::now_unix();
        let Some(bucket) = inner.buckets.get_mut(endpoint) else {
            return problem(404, "Not Found Error", "Sorry, that page does not exist.");
        };
        if now >= bucket.reset {
            bucket.remaining = bucket.limit;
            bucket.reset = now + WINDOW_SECS;
        }
        if bucket.remaining == 0 {
            let snapshot = *bucket;
            let mut response = problem(429, "Too Many Requests", "Too Many Requests");
            rate_headers(&mut response, snapshot);
            return response;
        }
        bucket.remaining -= 1;
        let snapshot = *bucket;
        let q = query(&request);
        let mut response = match segs.as_slice() {
            ["2", "dm_events"] => list_events(&inner, &token, &q, None),
            ["2", "dm_conversations", "with", participant, "dm_events"] => {
                let me = inner.accounts[&token].user_id.clone();
                list_events(&inner, &token, &q, Some(conversation_id(participant, &me)))
            }
            ["2", "dm_conversations", conversation, "dm_events"] => {
                list_events(&inner, &token, &q, Some((*conversation).to_owned()))
            }
            ["2", "dm_conversations", "with", participant, "messages"] => {
                send(&mut inner, &token, participant, &request)
            }
            ["2", "media", "upload"] => upload(&mut inner, &request),
            ["2", "dm_conversations", conversation, "messages"] => {
                let me = inner.accounts[&token].user_id.clone();
                match conversation.split_once('-') {
                    Some((a, b)) if a == me || b == me => {
                        let other = if a == me { b } else { a };
                        send(&mut inner, &token, other, &request)
                    }
                    _ => problem(
                        403,
                        "Forbidden",
                        "You are not a participant of this conversation.",
                    ),
                }
            }
            ["2", "users", "me"] => {
                let me = inner.accounts[&token].user_id.clone();
                let fields = list(&q, "user.fields");
                let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
                server::json(200, &json!({"data": inner.user_json(&me, &fields)}))
            }
            _ => problem(404, "Not Found Error", "Sorry, that page does not exist."),
        };
        rate_headers(&mut response, snapshot);
        response
    }

    fn render_failure(&self, failure: &Failure, _request: &Recorded) -> Response {
        match failure {
            Failure::RateLimited { retry_after_secs } => {
                let mut response = problem(429, "Too Many Requests", "Too Many Requests");
                let limit = ENDPOINTS[0].1;
                rate_headers(
                    &mut response,
                    Bucket {
                        limit,
                        remaining: 0,
                        reset: clock::now_unix() + *retry_after_secs as i64,
                    },
                );
                response
            }
            Failure::Unauthorized => unauthorized(),
            Failure::ServerError => problem(503, "Service Unavailable", "Service Unavailable"),
            Failure::Status {
                status, message, ..
            } => {
                let title = StatusCode::from_u16(*status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("Error");
                problem(*status, title, message)
            }
            Failure::Raw {
                status,
                content_type,
                body,
            } => server::raw(*status, content_type, body),
        }
    }
}

fn list_events(
    inner: &Inner,
    token: &str,
    q: &HashMap<String, String>,
    conversation: Option<String>,
) -> Response {
    let max_results = match q.get("max_results") {
        None => 100,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return invalid_request(
                    "max_results",
                    v,
                    &format!(
                        "The `max_results` query parameter value [{v}] is not between 1 and 100"
                    ),
                )
            }
        },
    };
    let event_types = list(q, "event_types");
    if event_types.iter().any(|t| {
        !matches!(
            t.as_str(),
            "MessageCreate" | "ParticipantsJoin" | "ParticipantsLeave"
        )
    }) {
        let v = q.get("event_types").cloned().unwrap_or_default();
        return invalid_request("event_types", &v, &format!("The `event_types` query parameter value [{v}] is not one of [MessageCreate, ParticipantsJoin, ParticipantsLeave]"));
    }
    // Only MessageCreate events exist in the fake; other requested kinds match nothing.
    let message_creates =
        event_types.is_empty() || event_types.iter().any(|t| t == "MessageCreate");
    let account = &inner.accounts[token];
    let newest_first: Vec<&Event> = account
        .events
        .iter()
        .rev()
        .filter(|e| {
            conversation
                .as_ref()
                .is_none_or(|c| &e.conversation_id == c)
        })
        .filter(|_| message_creates)
        .collect();
    let position = |id: &str| newest_first.iter().position(|e| e.id == id);
    let (start, end) = match q.get("pagination_token") {
        Some(token) => {
            let decoded = unbase32(token).and_then(|b| String::from_utf8(b).ok());
            match decoded.as_deref().and_then(|d| d.split_once(':')) {
                Some(("next", id)) => {
                    let start = position(id).map_or(newest_first.len(), |i| i + 1);
                    (start, (start + max_results).min(newest_first.len()))
                }
                Some(("prev", id)) => {
                    let end = position(id).unwrap_or(0);
                    (end.saturating_sub(max_results), end)
                }
                _ => {
                    return invalid_request(
                        "pagination_token",
                        token,
                        &format!(
                            "The `pagination_token` query parameter value [{token}] is not valid"
                        ),
                    )
                }
            }
        }
        None => (0, max_results.min(newest_first.len())),
    };
    let page = &newest_first[start..end];
    let fields = list(q, "dm_event.fields");
    let expansions = list(q, "expansions");
    let user_fields = list(q, "user.fields");
    let user_fields: Vec<&str> = user_fields.iter().map(String::as_str).collect();
    let media_fields = list(q, "media.fields");
    let wants = |f: &str| fields.iter().any(|x| x == f);
    let data: Vec<Value> = page
        .iter()
        .map(|e| {
            let mut event = json!({"id": e.id, "event_type": "MessageCreate", "text": e.text});
            if wants("dm_conversation_id") {
                event["dm_conversation_id"] = json!(e.conversation_id);
            }
            if wants("created_at") {
                event["created_at"] = json!(clock::iso_millis(e.created_ms));
            }
            if wants("sender_id") {
                event["sender_id"] = json!(e.sender_id);
            }
            if wants("attachments") && !e.media.is_empty() {
                event["attachments"] = json!({"media_keys": e.media.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>()});
            }
            if wants("participant_ids") {
                event["participant_ids"] = json!(e.conversation_id.split('-').collect::<Vec<_>>());
            }
            event
        })
        .collect();
    let mut body = Map::new();
    let mut includes = Map::new();
    let mut user_ids: Vec<String> = Vec::new();
    for e in page {
        if expansions.iter().any(|x| x == "sender_id") {
            user_ids.push(e.sender_id.clone());
        }
        if expansions.iter().any(|x| x == "participant_ids") {
            user_ids.extend(e.conversation_id.split('-').map(str::to_owned));
        }
    }
    let mut seen = std::collections::HashSet::new();
    user_ids.retain(|id| seen.insert(id.clone()));
    if !user_ids.is_empty() {
        includes.insert(
            "users".into(),
            Value::Array(
                user_ids
                    .iter()
                    .map(|id| inner.user_json(id, &user_fields))
                    .collect(),
            ),
        );
    }
    if expansions.iter().any(|x| x == "attachments.media_keys") {
        let media: Vec<Value> = page
            .iter()
            .flat_map(|e| e.media.iter())
            .map(|(key, kind)| {
                let mut m = json!({"media_key": key, "type": kind});
                if media_fields.iter().any(|f| f == "url") && kind == "photo" {
                    m["url"] = json!(format!("https://ton.twitter.com/1.1/ton/data/dm/{key}.jpg"));
                }
                m
            })
            .collect();
        if !media.is_empty() {
            includes.insert("media".into(), Value::Array(media));
        }
    }
    let mut meta = json!({"result_count": page.len()});
    if end < newest_first.len() {
        if let Some(last) = page.last() {
            meta["next_token"] = json!(base32(format!("next:{}", last.id).as_bytes()));
        }
    }
    if start > 0 {
        if let Some(first) = page.first() {
            meta["previous_token"] = json!(base32(format!("prev:{}", first.id).as_bytes()));
        }
    }
    if !data.is_empty() {
        body.insert("data".into(), Value::Array(data));
    }
    if !includes.is_empty() {
        body.insert("includes".into(), Value::Object(includes));
    }
    body.insert("meta".into(), meta);
    server::json(200, &Value::Object(body))
}

/// `POST /2/media/upload` (one-shot multipart upload).
fn upload(inner: &mut Inner, request: &Recorded) -> Response {
    let content_type = request.header("content-type").unwrap_or("");
    let parts = crate::multipart::boundary(content_type)
        .and_then(|b| crate::multipart::parse(&request.body, &b).ok())
        .unwrap_or_default();
    let field = |name: &str| parts.iter().find(|p| p.name == name);
    let Some(media) = field("media").filter(|p| !p.data.is_empty()) else {
        return invalid_request("media", "", "The `media` field is required.");
    };
    let category = field("media_category")
        .map(|p| String::from_utf8_lossy(&p.data).into_owned())
        .unwrap_or_default();
    const CATEGORIES: [&str; 8] = [
        "amplify_video",
        "tweet_gif",
        "tweet_image",
        "tweet_video",
        "dm_gif",
        "dm_image",
        "dm_video",
        "subtitles",
    ];
    if !CATEGORIES.contains(&category.as_str()) {
        return invalid_request(
            "media_category",
            &category,
            "The `media_category` query parameter value is not one of the allowed values.",
        );
    }
    let media_type = field("media_type")
        .map(|p| String::from_utf8_lossy(&p.data).into_owned())
        .or_else(|| media.content_type.clone())
        .unwrap_or_else(|| "application/octet-stream".into());
    let id = inner.snowflake();
    let size = media.data.len();
    inner
        .uploads
        .insert(id.clone(), (category, media_type, media.data.clone()));
    server::json(
        200,
        &json!({"data": {"id": id, "media_key": format!("3_{id}"), "size": size,
                          "expires_after_secs": 86400}}),
    )
}

fn send(inner: &mut Inner, token: &str, participant: &str, request: &Recorded) -> Response {
    let Some(body) = request.body_json().filter(Value::is_object) else {
        return server::json(
            400,
            &json!({"errors": [{"message": "Request body must be valid JSON"}],
                    "title": "Invalid Request",
                    "detail": "One or more parameters to your request was invalid.",
                    "type": "https://api.twitter.com/2/problems/invalid-request"}),
        );
    };
    let text = body["text"].as_str().map(str::to_owned);
    let media_ids: Vec<String> = body["attachments"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["media_id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if text.as_deref().unwrap_or("").is_empty() && media_ids.is_empty() {
        return invalid_request(
            "text",
            "",
            "Either `text` or `attachments` must be provided",
        );
    }
    if let Some(unknown) = media_ids.iter().find(|m| !inner.uploads.contains_key(*m)) {
        return invalid_request(
            "attachments.media_id",
            unknown,
            &format!("The media id {unknown} was not found or has expired."),
        );
    }
    if !inner.users.contains_key(participant) {
        return problem(
            403,
            "Forbidden",
            "You are not permitted to send a message to this user.",
        );
    }
    let id = inner.snowflake();
    let Some(account) = inner.accounts.get_mut(token) else {
        return unauthorized();
    };
    let conversation = conversation_id(participant, &account.user_id);
    account.events.push(Event {
        id: id.clone(),
        text: text.clone().unwrap_or_default(),
        sender_id: account.user_id.clone(),
        conversation_id: conversation.clone(),
        created_ms: clock::now_millis(),
        media: media_ids
            .iter()
            .map(|m| (format!("3_{m}"), "photo".to_owned()))
            .collect(),
    });
    account.sent.push(XSentDm {
        dm_event_id: id.clone(),
        dm_conversation_id: conversation.clone(),
        participant_id: participant.to_owned(),
        text,
        media_ids,
        body,
    });
    server::json(
        201,
        &json!({"data": {"dm_conversation_id": conversation, "dm_event_id": id}}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_round_trips_and_conversations_are_ordered() {
        let token = base32(b"next:1580705921830768647");
        assert!(token.len() >= 16);
        assert_eq!(unbase32(&token).unwrap(), b"next:1580705921830768647");
        assert_eq!(unbase32("not base32!"), None);
        assert_eq!(conversation_id("9", "10"), "9-10");
        assert_eq!(conversation_id("10", "9"), "9-10");
    }
}
