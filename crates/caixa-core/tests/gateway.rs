//! Gateway integration tests with real HTTP and WebSocket clients against a running engine:
//! the API channel (every bad input of the issue) and the website widget protocol.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode as AxStatus;
use caixa_core::model::*;
use caixa_core::secrets::Secrets;
use caixa_core::signature;
use caixa_core::{Caixa, Config, RetryPolicy, Running};
use futures_util::StreamExt;
use serde_json::{json, Value};

struct Engine {
    caixa: Caixa,
    running: Option<Running>,
    base: String,
    _dir: tempfile::TempDir,
}

impl Engine {
    async fn start() -> Engine {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = Config::new(dir.path().to_path_buf(), Secrets::memory());
        cfg.listen = Some("127.0.0.1:0".parse().unwrap());
        cfg.agent_name = "Ana".into();
        cfg.retry = RetryPolicy {
            base: Duration::from_millis(20),
            max_attempts: 3,
        };
        let caixa = Caixa::open(cfg).unwrap();
        let running = caixa.start().await.unwrap();
        let base = format!("http://{}", running.gateway_addr.unwrap());
        Engine {
            caixa,
            running: Some(running),
            base,
            _dir: dir,
        }
    }

    async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }

    async fn message_count(&self) -> i64 {
        self.caixa
            .store()
            .read(|c| Ok(c.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?))
            .await
            .unwrap()
    }
}

/// One request as the webhook receiver saw it: headers and raw body.
type Received = (axum::http::HeaderMap, Vec<u8>);

/// A local webhook receiver that records what it is sent and answers with scripted statuses.
#[derive(Clone, Default)]
struct Webhook {
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<Vec<u16>>>,
}

impl Webhook {
    async fn start(script: Vec<u16>) -> (Webhook, String) {
        let hook = Webhook {
            script: Arc::new(Mutex::new(script)),
            ..Default::default()
        };
        let h = hook.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let h = h.clone();
                    async move {
                        h.received.lock().unwrap().push((headers, body.to_vec()));
                        let mut s = h.script.lock().unwrap();
                        let code = if s.is_empty() { 200 } else { s.remove(0) };
                        (AxStatus::from_u16(code).unwrap(), "scripted answer")
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (hook, format!("http://{addr}/hook"))
    }

    fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

async fn add_api(caixa: &Caixa, webhook: Option<String>) -> (InboxView, String) {
    let view = caixa
        .add_inbox(InboxInput {
            password: None,
            name: "Shop".into(),
            settings: InboxSettings::Api(ApiSettings {
                webhook_url: webhook,
            }),
            webhook_secret: None,
        })
        .await
        .unwrap();
    let secret = caixa.inbox_secret(view.inbox.id).await.unwrap();
    (view, secret)
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn post_signed(url: &str, secret: &str, body: &[u8], ts: i64) -> reqwest::Response {
    let ts = ts.to_string();
    reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-Caixa-Timestamp", &ts)
        .header("X-Caixa-Signature", signature::sign(secret, &ts, body))
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

async fn wait_for<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn api_channel_receives_and_replies_signed() {
    let engine = Engine::start().await;
    let (hook, hook_url) = Webhook::start(vec![]).await;
    let (view, secret) = add_api(&engine.caixa, Some(hook_url)).await;
    let url = view.endpoint_url.clone().unwrap();
    assert_eq!(
        url,
        format!(
            "{}/api/v1/inboxes/{}/messages",
            engine.base, view.inbox.token
        )
    );

    let mut events = engine.caixa.events().subscribe();
    let body = json!({"contact": {"identifier": "cust-42", "name": "Rita Lima", "email": "rita@example.com"},
                      "content": "My order #123 is late", "source_id": "ext-1"});
    let body = serde_json::to_vec(&body).unwrap();
    let res = post_signed(&url, &secret, &body, now_secs()).await;
    assert_eq!(res.status(), 201);
    let accepted: Value = res.json().await.unwrap();
    let conversation_id = accepted["conversation_id"].as_i64().unwrap();
    assert_eq!(accepted["duplicate"], false);

    // The UI hears about it through one event per change.
    let ev = events.recv().await.unwrap();
    assert!(
        matches!(ev, CoreEvent::MessageChanged { conversation_id: c, .. } if c == conversation_id)
    );

    let page = engine
        .caixa
        .list_conversations(ConversationFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(page.items[0].id, conversation_id);
    assert_eq!(page.items[0].contact_name, "Rita Lima");
    assert_eq!(page.items[0].preview, "My order #123 is late");
    assert_eq!(page.items[0].unread_count, 1);

    // Same source_id again: accepted, nothing new stored.
    let res = post_signed(&url, &secret, &body, now_secs()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["duplicate"], true);
    assert_eq!(engine.message_count().await, 1);

    // The agent's reply goes to the webhook, signed the same way.
    let reply = engine
        .caixa
        .send_message(conversation_id, "It ships today", false, &[])
        .await
        .unwrap();
    assert_eq!(reply.delivery, Some(Delivery::Queued));
    // Files stay in private notes here: the API channel's webhook carries no files yet.
    let picked = engine._dir.path().join("vip.txt");
    std::fs::write(&picked, "VIP since 2020").unwrap();
    let file = engine.caixa.stage_file(picked).await.unwrap();
    let refused = engine
        .caixa
        .send_message(
            conversation_id,
            "see file",
            false,
            std::slice::from_ref(&file),
        )
        .await
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("API conversations cannot carry files"),
        "{refused}"
    );
    let note = engine
        .caixa
        .send_message(conversation_id, "customer is VIP", true, &[file])
        .await
        .unwrap();
    assert_eq!(note.delivery, None);
    assert_eq!(note.attachments[0].file_name, "vip.txt");
    assert_eq!(note.attachments[0].size, 14);
    let sent = wait_for("reply sent", async || {
        let m = engine.caixa.get_message(reply.id).await.unwrap();
        (m.delivery == Some(Delivery::Sent)).then_some(m)
    })
    .await;
    assert_eq!(sent.error, None);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(hook.count(), 1, "the note never reaches the webhook");
    let (headers, raw) = hook.received.lock().unwrap()[0].clone();
    let ts = headers
        .get("x-caixa-timestamp")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let sig = headers
        .get("x-caixa-signature")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    signature::verify(&secret, Some(&ts), Some(&sig), &raw, now_secs()).unwrap();
    let payload: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(payload["event"], "message.created");
    assert_eq!(payload["conversation_id"], conversation_id);
    assert_eq!(payload["contact"]["identifier"], "cust-42");
    assert_eq!(payload["message"]["content"], "It ships today");
    assert_eq!(payload["message"]["id"], reply.id);
    assert!(!String::from_utf8_lossy(&raw).contains("VIP"));
    engine.stop().await;
}

#[tokio::test]
async fn api_channel_rejects_bad_input_and_stores_nothing() {
    let engine = Engine::start().await;
    let (view, secret) = add_api(&engine.caixa, None).await;
    let url = view.endpoint_url.clone().unwrap();
    let good = br#"{"contact":{"identifier":"c1","name":"C"},"content":"hi"}"#.to_vec();
    let client = reqwest::Client::new();

    let code_of = async |res: reqwest::Response| -> (u16, String) {
        let status = res.status().as_u16();
        let v: Value = res.json().await.unwrap();
        (status, v["error"]["code"].as_str().unwrap().to_string())
    };

    // Unknown inbox token.
    let bad_url = format!("{}/api/v1/inboxes/nope/messages", engine.base);
    assert_eq!(
        code_of(post_signed(&bad_url, &secret, &good, now_secs()).await).await,
        (404, "unknown_inbox".into())
    );
    // Missing signature.
    let res = client
        .post(&url)
        .header("X-Caixa-Timestamp", now_secs().to_string())
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(code_of(res).await, (401, "bad_signature".into()));
    // Wrong secret.
    assert_eq!(
        code_of(post_signed(&url, "not-the-secret", &good, now_secs()).await).await,
        (401, "bad_signature".into())
    );
    // Signature over a different body.
    let ts = now_secs().to_string();
    let res = client
        .post(&url)
        .header("X-Caixa-Timestamp", &ts)
        .header("X-Caixa-Signature", signature::sign(&secret, &ts, b"{}"))
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(code_of(res).await, (401, "bad_signature".into()));
    // Replay: timestamp older than 5 minutes.
    assert_eq!(
        code_of(post_signed(&url, &secret, &good, now_secs() - 301).await).await,
        (401, "bad_signature".into())
    );
    // Invalid JSON, invalid UTF-8.
    assert_eq!(
        code_of(post_signed(&url, &secret, b"{not json", now_secs()).await).await,
        (400, "invalid_json".into())
    );
    assert_eq!(
        code_of(post_signed(&url, &secret, b"{\"content\":\"\xff\xfe\"}", now_secs()).await).await,
        (400, "invalid_utf8".into())
    );
    // Missing contact.
    assert_eq!(
        code_of(post_signed(&url, &secret, br#"{"content":"hi"}"#, now_secs()).await).await,
        (400, "invalid_json".into())
    );
    // Empty content.
    let empty = br#"{"contact":{"identifier":"c1","name":"C"},"content":"   "}"#;
    assert_eq!(
        code_of(post_signed(&url, &secret, empty, now_secs()).await).await,
        (422, "invalid".into())
    );
    // Content over 64 KiB.
    let big = serde_json::to_vec(&json!({"contact": {"identifier": "c1", "name": "C"}, "content": "x".repeat(64 * 1024 + 1)})).unwrap();
    assert_eq!(
        code_of(post_signed(&url, &secret, &big, now_secs()).await).await,
        (413, "too_large".into())
    );

    assert_eq!(
        engine.message_count().await,
        0,
        "nothing was stored by any bad request"
    );
    let page = engine
        .caixa
        .list_conversations(ConversationFilter::default(), None, 10)
        .await
        .unwrap();
    assert!(page.items.is_empty());
    // And the good one still works.
    assert_eq!(
        post_signed(&url, &secret, &good, now_secs()).await.status(),
        201
    );
    engine.stop().await;
}

#[tokio::test]
async fn webhook_failures_retry_then_fail_with_reason() {
    let engine = Engine::start().await;
    // 503 twice, then 200: retried with backoff and finally sent.
    let (hook, hook_url) = Webhook::start(vec![503, 503]).await;
    let (view, secret) = add_api(&engine.caixa, Some(hook_url)).await;
    let url = view.endpoint_url.unwrap();
    let body = br#"{"contact":{"identifier":"c1","name":"C"},"content":"hi"}"#;
    let res: Value = post_signed(&url, &secret, body, now_secs())
        .await
        .json()
        .await
        .unwrap();
    let conv = res["conversation_id"].as_i64().unwrap();
    let m = engine
        .caixa
        .send_message(conv, "first", false, &[])
        .await
        .unwrap();
    wait_for("retried reply sent", async || {
        (engine.caixa.get_message(m.id).await.unwrap().delivery == Some(Delivery::Sent))
            .then_some(())
    })
    .await;
    assert_eq!(hook.count(), 3);

    // Always 500: gives up after max_attempts and says why.
    hook.script.lock().unwrap().extend([500, 500, 500]);
    let m = engine
        .caixa
        .send_message(conv, "second", false, &[])
        .await
        .unwrap();
    let failed = wait_for("reply failed", async || {
        let m = engine.caixa.get_message(m.id).await.unwrap();
        (m.delivery == Some(Delivery::Failed)).then_some(m)
    })
    .await;
    let reason = failed.error.unwrap();
    assert!(reason.contains("HTTP 500"), "{reason}");
    assert!(reason.contains("gave up after 3 attempts"), "{reason}");

    // A 4xx is permanent: no retry.
    hook.script.lock().unwrap().push(400);
    let before = hook.count();
    let m = engine
        .caixa
        .send_message(conv, "third", false, &[])
        .await
        .unwrap();
    let failed = wait_for("reply refused", async || {
        let m = engine.caixa.get_message(m.id).await.unwrap();
        (m.delivery == Some(Delivery::Failed)).then_some(m)
    })
    .await;
    assert!(failed.error.unwrap().contains("HTTP 400"));
    assert_eq!(hook.count(), before + 1);

    // Retry from the UI puts it back in the queue; the webhook now accepts.
    engine.caixa.retry_message(m.id).await.unwrap();
    wait_for("manual retry sent", async || {
        (engine.caixa.get_message(m.id).await.unwrap().delivery == Some(Delivery::Sent))
            .then_some(())
    })
    .await;
    engine.stop().await;
}

// ---- website widget ------------------------------------------------------------------------

async fn add_website(caixa: &Caixa) -> InboxView {
    caixa
        .add_inbox(InboxInput {
            password: None,
            name: "Acme".into(),
            settings: InboxSettings::Website(WebsiteSettings {
                website_url: "https://acme.example".into(),
                welcome_title: "Hi".into(),
                welcome_text: "Ask us".into(),
                color: "#123456".into(),
            }),
            webhook_secret: None,
        })
        .await
        .unwrap()
}

struct Visitor {
    api: String,
    token: String,
    origin: String,
    client: reqwest::Client,
}

impl Visitor {
    async fn new(engine: &Engine, inbox: &InboxView, origin: &str) -> Visitor {
        let api = format!("{}/api/widget/v1/{}", engine.base, inbox.inbox.token);
        let client = reqwest::Client::new();
        let res = client
            .post(format!("{api}/visitors"))
            .header("Origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let token = res.json::<Value>().await.unwrap()["visitor_token"]
            .as_str()
            .unwrap()
            .to_string();
        Visitor {
            api,
            token,
            origin: origin.into(),
            client,
        }
    }

    async fn send(&self, text: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/messages", self.api))
            .header("Origin", &self.origin)
            .header("X-Caixa-Visitor", &self.token)
            .json(&json!({ "content": text }))
            .send()
            .await
            .unwrap()
    }

    async fn thread(&self) -> Value {
        self.client
            .get(format!("{}/conversation", self.api))
            .header("Origin", &self.origin)
            .header("X-Caixa-Visitor", &self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn socket(
        &self,
    ) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>
    {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!(
            "{}/ws?visitor={}",
            self.api.replacen("http", "ws", 1),
            self.token
        );
        let mut req = url.into_client_request().unwrap();
        req.headers_mut()
            .insert("Origin", self.origin.parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        let ready = next_frame(&mut ws).await;
        assert_eq!(ready["type"], "ready");
        ws
    }
}

async fn next_frame(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("frame in time")
            .unwrap()
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

#[tokio::test]
async fn widget_visitors_are_isolated_and_get_replies_live() {
    let engine = Engine::start().await;
    let inbox = add_website(&engine.caixa).await;
    let site = "https://acme.example";

    // Config for the widget, with CORS for the site's origin.
    let res = reqwest::Client::new()
        .get(format!(
            "{}/api/widget/v1/{}/config",
            engine.base, inbox.inbox.token
        ))
        .header("Origin", site)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], site);
    let cfg: Value = res.json().await.unwrap();
    assert_eq!(cfg["welcome_title"], "Hi");
    assert_eq!(cfg["color"], "#123456");

    let ana = Visitor::new(&engine, &inbox, site).await;
    let bob = Visitor::new(&engine, &inbox, site).await;
    assert_ne!(ana.token, bob.token);
    let mut ana_ws = ana.socket().await;
    let mut bob_ws = bob.socket().await;

    let res = ana.send("Hello from Ana").await;
    assert_eq!(res.status(), 201);
    let sent: Value = res.json().await.unwrap();
    let ana_conv = sent["conversation_id"].as_i64().unwrap();
    assert_eq!(
        next_frame(&mut ana_ws).await["message"]["content"],
        "Hello from Ana"
    );
    let bob_conv = bob
        .send("Hello from Bob")
        .await
        .json::<Value>()
        .await
        .unwrap()["conversation_id"]
        .as_i64()
        .unwrap();
    assert_ne!(ana_conv, bob_conv);
    assert_eq!(
        next_frame(&mut bob_ws).await["message"]["content"],
        "Hello from Bob"
    );

    // Both conversations are at the top of the agent's list, newest first.
    let page = engine
        .caixa
        .list_conversations(ConversationFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        [bob_conv, ana_conv]
    );
    assert_eq!(page.items[0].channel, ChannelKind::Website);

    // The agent replies to Ana and writes a note: Ana gets the reply live, never the note.
    engine
        .caixa
        .send_message(ana_conv, "secret note about Ana", true, &[])
        .await
        .unwrap();
    let reply = engine
        .caixa
        .send_message(ana_conv, "Hi Ana, how can we help?", false, &[])
        .await
        .unwrap();
    let frame = next_frame(&mut ana_ws).await;
    assert_eq!(frame["type"], "message");
    assert_eq!(frame["message"]["author"], "agent");
    assert_eq!(frame["message"]["content"], "Hi Ana, how can we help?");
    let delivered = wait_for("delivered", async || {
        let m = engine.caixa.get_message(reply.id).await.unwrap();
        (m.delivery == Some(Delivery::Delivered)).then_some(m)
    })
    .await;
    assert_eq!(delivered.error, None);

    // History: Ana sees her two messages, Bob only his; the note is nowhere.
    let ana_thread = ana.thread().await;
    let texts: Vec<&str> = ana_thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["Hello from Ana", "Hi Ana, how can we help?"]);
    let bob_thread = bob.thread().await;
    assert_eq!(bob_thread["messages"].as_array().unwrap().len(), 1);
    assert!(!ana_thread.to_string().contains("secret note"));

    // Bob cannot read Ana's conversation by id.
    let res = bob
        .client
        .get(format!("{}/conversations/{ana_conv}/messages", bob.api))
        .header("Origin", site)
        .header("X-Caixa-Visitor", &bob.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = ana
        .client
        .get(format!("{}/conversations/{ana_conv}/messages", ana.api))
        .header("Origin", site)
        .header("X-Caixa-Visitor", &ana.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Reconnect: a reply sent while Ana's socket was closed is in her history afterwards, and
    // the next one arrives live on the new socket.
    drop(ana_ws);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let away = engine
        .caixa
        .send_message(ana_conv, "while you were away", false, &[])
        .await
        .unwrap();
    // The outbox must have handled it before Ana reconnects, or it may also arrive live.
    wait_for("the outbox to handle the offline reply", async || {
        let m = engine.caixa.get_message(away.id).await.ok()?;
        (m.delivery != Some(Delivery::Queued)).then_some(())
    })
    .await;
    wait_for("history has the offline reply", async || {
        ana.thread()
            .await
            .to_string()
            .contains("while you were away")
            .then_some(())
    })
    .await;
    let mut ana_ws = ana.socket().await;
    engine
        .caixa
        .send_message(ana_conv, "welcome back", false, &[])
        .await
        .unwrap();
    assert_eq!(
        next_frame(&mut ana_ws).await["message"]["content"],
        "welcome back"
    );
    engine.stop().await;
}

#[tokio::test]
async fn widget_rejects_foreign_origins_bad_tokens_and_floods() {
    let engine = Engine::start().await;
    let inbox = add_website(&engine.caixa).await;
    let api = format!("{}/api/widget/v1/{}", engine.base, inbox.inbox.token);
    let client = reqwest::Client::new();

    // Another website may not use this inbox's widget.
    let res = client
        .post(format!("{api}/visitors"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "origin_not_allowed"
    );
    // The gateway's own test page is allowed.
    let res = client
        .post(format!("{api}/visitors"))
        .header("Origin", &engine.base)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // Preflight from the site.
    let res = client
        .request(reqwest::Method::OPTIONS, format!("{api}/messages"))
        .header("Origin", "https://acme.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(res.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("X-Caixa-Visitor"));

    // Unknown inbox token.
    let res = client
        .get(format!("{}/api/widget/v1/nope/config", engine.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    // Missing or malformed visitor token.
    let res = client
        .post(format!("{api}/messages"))
        .json(&json!({"content": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = client
        .post(format!("{api}/messages"))
        .header("X-Caixa-Visitor", "short")
        .json(&json!({"content": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    let v = Visitor::new(&engine, &inbox, "https://acme.example").await;
    // Empty and oversized messages.
    assert_eq!(v.send("  ").await.status(), 422);
    assert_eq!(v.send(&"x".repeat(64 * 1024 + 1)).await.status(), 413);
    assert_eq!(engine.message_count().await, 0);

    // A flood from one visitor is cut off (burst of 10; the two refusals above counted).
    let mut codes = Vec::new();
    for i in 0..12 {
        codes.push(v.send(&format!("flood {i}")).await.status().as_u16());
    }
    assert!(codes.contains(&429), "{codes:?}");
    let stored = engine.message_count().await as usize;
    assert_eq!(stored, codes.iter().filter(|c| **c == 201).count());
    // Other visitors are not affected.
    let w = Visitor::new(&engine, &inbox, "https://acme.example").await;
    assert_eq!(w.send("I am fine").await.status(), 201);
    engine.stop().await;
}

#[tokio::test]
async fn widget_assets_are_served() {
    let engine = Engine::start().await;
    let inbox = add_website(&engine.caixa).await;
    let res = reqwest::get(format!("{}/widget.js", engine.base))
        .await
        .unwrap();
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/javascript"));
    assert!(res.text().await.unwrap().contains("data-caixa-token"));
    let page = reqwest::get(inbox.test_page_url.clone().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(inbox.snippet.as_deref().unwrap()),
        "the test page embeds the snippet"
    );
    assert!(inbox.snippet.unwrap().contains(&inbox.inbox.token));
    engine.stop().await;
}
