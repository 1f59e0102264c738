//! LINE official accounts against the local fake Messaging API (`caixa-fakes`): the token
//! checked on save, webhooks signed with the channel secret (forged ones refused with nothing
//! stored, redeliveries stored once), names from the profile API, content downloaded, replies
//! pushed with a retry key, 429 backed off.

mod common;
use std::time::Duration;

use caixa_core::model::*;
use caixa_core::secrets::Secrets;
use caixa_core::{Caixa, Config, RetryPolicy, Running};
use caixa_fakes::line::{self, LineFake};
use caixa_fakes::Failure;
use common::wait_for;

const TOKEN: &str = "line-channel-access-token";
const SECRET: &str = "line-channel-secret";
const USER: &str = "U4af4980629aaaaaaaaaaaaaaaaaaaaaa";

struct Engine {
    caixa: Caixa,
    _running: Running,
    http: reqwest::Client,
}

impl Engine {
    async fn start(dir: &tempfile::TempDir) -> Engine {
        let mut cfg = Config::new(dir.path().to_path_buf(), Secrets::memory());
        cfg.listen = Some("127.0.0.1:0".parse().unwrap());
        cfg.retry = RetryPolicy {
            base: Duration::from_millis(200),
            max_attempts: 4,
        };
        let caixa = Caixa::open(cfg).unwrap();
        let running = caixa.start().await.unwrap();
        Engine {
            caixa,
            _running: running,
            http: reqwest::Client::new(),
        }
    }

    async fn count(&self, sql: &'static str) -> i64 {
        self.caixa
            .store()
            .read(move |c| Ok(c.query_row(sql, [], |r| r.get(0))?))
            .await
            .unwrap()
    }

    async fn deliver(&self, url: &str, body: &serde_json::Value, secret: Option<&str>) -> u16 {
        let raw = serde_json::to_vec(body).unwrap();
        let mut req = self
            .http
            .post(url)
            .header("content-type", "application/json");
        if let Some(secret) = secret {
            req = req.header("x-line-signature", line::sign(secret, &raw));
        }
        req.body(raw).send().await.unwrap().status().as_u16()
    }
}

fn input(fake: &LineFake, token: &str, secret: Option<&str>) -> InboxInput {
    InboxInput {
        name: "Acme LINE".into(),
        settings: InboxSettings::Line(LineSettings {
            bot_name: None,
            api_base_url: Some(fake.base_url()),
        }),
        password: Some(token.into()),
        webhook_secret: secret.map(str::to_string),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_webhooks_in_pushes_out() {
    let fake = LineFake::start().await;
    let channel = fake.add_channel(TOKEN, "Ubot0000000000000000000000000000", "Acme Support");
    channel.add_user(USER, "Yui Tanaka");
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::start(&dir).await;

    let err = engine
        .caixa
        .add_inbox(input(&fake, "wrong", Some(SECRET)))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Authentication failed"), "{err}");
    let err = engine
        .caixa
        .add_inbox(input(&fake, TOKEN, None))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("channel secret"), "{err}");
    let view = engine
        .caixa
        .add_inbox(input(&fake, TOKEN, Some(SECRET)))
        .await
        .unwrap();
    let InboxSettings::Line(s) = &view.inbox.settings else {
        panic!("line settings")
    };
    assert_eq!(s.bot_name.as_deref(), Some("Acme Support"));
    let hook = view.endpoint_url.clone().unwrap();

    // Forged or missing signatures: 401, nothing stored.
    let text = channel.webhook_text(USER, "こんにちは、注文が届きません");
    assert_eq!(engine.deliver(&hook, &text, Some("forged")).await, 401);
    assert_eq!(engine.deliver(&hook, &text, None).await, 401);
    assert_eq!(engine.count("SELECT COUNT(*) FROM messages").await, 0);
    // Signed, then redelivered by LINE: stored once.
    assert_eq!(engine.deliver(&hook, &text, Some(SECRET)).await, 200);
    let again = line::redelivery(&text);
    assert_eq!(engine.deliver(&hook, &again, Some(SECRET)).await, 200);
    assert_eq!(engine.count("SELECT COUNT(*) FROM messages").await, 1);

    let image: Vec<u8> = (0..3000u32).map(|i| (i % 97) as u8).collect();
    let pic = channel.webhook_image(USER, "image/jpeg", &image);
    assert_eq!(engine.deliver(&hook, &pic, Some(SECRET)).await, 200);
    let row = engine
        .caixa
        .list_conversations(ConversationFilter::default(), None, 10)
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(row.contact_name, "Yui Tanaka");
    assert_eq!(row.channel, ChannelKind::Line);
    let msgs = engine.caixa.list_messages(row.id).await.unwrap();
    assert_eq!(msgs[0].content, "こんにちは、注文が届きません");
    let got = engine
        .caixa
        .attachment_file(msgs[1].attachments[0].id)
        .await
        .unwrap();
    assert_eq!(std::fs::read(got).unwrap(), image);

    // A reply: pushed to the user with a retry key; a 429 first is backed off.
    fake.fail_next(
        "/v2/bot/message/push",
        Failure::RateLimited {
            retry_after_secs: 0,
        },
    );
    let reply = engine
        .caixa
        .send_message(row.id, "お問い合わせありがとうございます", false, &[])
        .await
        .unwrap();
    let sent = wait_for("the push", Duration::from_secs(10), || async {
        let m = engine.caixa.get_message(reply.id).await.unwrap();
        (m.delivery == Some(Delivery::Sent)).then_some(m)
    })
    .await;
    assert!(sent.error.is_none());
    let out = channel.sent_messages();
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].kind, "push");
    assert_eq!(out[0].to, USER);
    assert_eq!(
        out[0].messages[0]["text"],
        "お問い合わせありがとうございます"
    );
    let pushes: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v2/bot/message/push")
        .collect();
    assert_eq!(pushes.len(), 2, "one refused with 429, one accepted");
    let key = pushes[1].header("x-line-retry-key").expect("a retry key");
    assert_eq!(
        pushes[0].header("x-line-retry-key"),
        Some(key),
        "same key on retry"
    );
    // A private note never reaches LINE.
    engine
        .caixa
        .send_message(row.id, "internal: VIP customer", true, &[])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(channel.sent_messages().len(), 1, "a note was sent");
}
