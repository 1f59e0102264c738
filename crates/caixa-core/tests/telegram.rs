//! Telegram bot inboxes against the local fake Bot API (`caixa-fakes`): token check, long
//! polling into the unified list, media in, replies with files out, restart without repeats,
//! 409 conflicts and 429 rate limits.

mod common;
use std::time::Duration;

use caixa_core::model::*;
use caixa_core::secrets::Secrets;
use caixa_core::{Caixa, Config, RetryPolicy, Running};
use caixa_fakes::telegram::{ChatInfo, TelegramBot, TelegramFake};
use caixa_fakes::Failure;
use common::wait_for;

const TOKEN: &str = "123456:ABC-caixa-test-token";

struct Engine {
    caixa: Caixa,
    running: Option<Running>,
    dir: tempfile::TempDir,
}

impl Engine {
    async fn start(dir: tempfile::TempDir, secrets: Secrets) -> Engine {
        let mut cfg = Config::new(dir.path().to_path_buf(), secrets);
        cfg.agent_name = "Ana".into();
        cfg.retry = RetryPolicy {
            base: Duration::from_millis(200),
            max_attempts: 4,
        };
        let caixa = Caixa::open(cfg).unwrap();
        let running = caixa.start().await.unwrap();
        Engine {
            caixa,
            running: Some(running),
            dir,
        }
    }

    async fn stop_keep_data(mut self) -> tempfile::TempDir {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        self.dir
    }

    async fn count(&self, sql: &'static str) -> i64 {
        self.caixa
            .store()
            .read(move |c| Ok(c.query_row(sql, [], |r| r.get(0))?))
            .await
            .unwrap()
    }
}

fn input(fake: &TelegramFake, token: &str) -> InboxInput {
    InboxInput {
        name: "Acme bot".into(),
        settings: InboxSettings::Telegram(TelegramSettings {
            bot_username: None,
            api_base_url: Some(fake.base_url()),
        }),
        password: Some(token.into()),
        webhook_secret: None,
    }
}

async fn rows(engine: &Engine) -> Vec<ConversationRow> {
    engine
        .caixa
        .list_conversations(ConversationFilter::default(), None, 50)
        .await
        .unwrap()
        .items
}

async fn state(engine: &Engine, inbox_id: InboxId) -> InboxState {
    engine
        .caixa
        .list_inboxes()
        .await
        .unwrap()
        .into_iter()
        .find(|v| v.inbox.id == inbox_id)
        .unwrap()
        .state
}

async fn added(engine: &Engine, fake: &TelegramFake) -> (InboxView, TelegramBot) {
    let bot = fake.new_bot(TOKEN, "acme_support_bot");
    let view = engine.caixa.add_inbox(input(fake, TOKEN)).await.unwrap();
    (view, bot)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_arrive_replies_go_out_and_restart_repeats_nothing() {
    let fake = TelegramFake::start().await;
    let engine = Engine::start(tempfile::tempdir().unwrap(), Secrets::memory()).await;

    // A wrong token is refused with Telegram's reason, on the token field; nothing is stored.
    fake.new_bot(TOKEN, "acme_support_bot");
    let err = engine
        .caixa
        .add_inbox(input(&fake, "999:wrong"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("did not accept the bot token"),
        "{err}"
    );
    assert_eq!(engine.caixa.list_inboxes().await.unwrap().len(), 0);

    let view = engine.caixa.add_inbox(input(&fake, TOKEN)).await.unwrap();
    let bot = fake.bot(TOKEN).unwrap();
    let InboxSettings::Telegram(s) = &view.inbox.settings else {
        panic!("telegram settings")
    };
    assert_eq!(s.bot_username.as_deref(), Some("acme_support_bot"));
    let inbox_id = view.inbox.id;
    wait_for("connected", Duration::from_secs(5), || async {
        (state(&engine, inbox_id).await == InboxState::Connected).then_some(())
    })
    .await;

    // Text, photo, document, location and a sticker from one customer → one conversation.
    let maria = ChatInfo::new(4242, "Maria")
        .with_last_name("Silva")
        .with_username("mariasilva");
    bot.push_text(&maria, "Olá! Meu pedido não chegou.");
    let photo: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    bot.push_photo(&maria, &photo, Some("Foto da caixa"));
    let pdf = b"%PDF-1.4 nota fiscal".to_vec();
    bot.push_document(&maria, "nota.pdf", "application/pdf", &pdf, None);
    bot.push_location(&maria, -23.55052, -46.633308);
    bot.push_sticker(&maria, "👍");
    let conv = wait_for("five messages", Duration::from_secs(10), || async {
        let rows = rows(&engine).await;
        let row = rows.into_iter().next()?;
        let msgs = engine.caixa.list_messages(row.id).await.unwrap();
        (msgs.len() == 5).then_some((row, msgs))
    })
    .await;
    let (row, msgs) = conv;
    assert_eq!(row.contact_name, "Maria Silva");
    assert_eq!(row.channel, ChannelKind::Telegram);
    assert_eq!(msgs[0].content, "Olá! Meu pedido não chegou.");
    assert_eq!(msgs[1].content, "Foto da caixa");
    assert_eq!(msgs[1].attachments.len(), 1);
    let got = engine
        .caixa
        .attachment_file(msgs[1].attachments[0].id)
        .await
        .unwrap();
    assert_eq!(std::fs::read(got).unwrap(), photo);
    assert_eq!(msgs[2].attachments[0].file_name, "nota.pdf");
    assert_eq!(msgs[2].attachments[0].mime_type, "application/pdf");
    assert!(
        msgs[3]
            .content
            .starts_with("📍 Location: -23.550520, -46.633308"),
        "{}",
        msgs[3].content
    );
    assert_eq!(msgs[4].content, "[Sticker 👍]");

    // The agent's reply, with a file, goes to the same chat.
    let picked = engine.dir.path().join("etiqueta.png");
    std::fs::write(&picked, b"\x89PNG\r\n\x1a\nlabel").unwrap();
    let file = engine.caixa.stage_file(picked).await.unwrap();
    let reply = engine
        .caixa
        .send_message(row.id, "Já reenviamos, segue a etiqueta.", false, &[file])
        .await
        .unwrap();
    let sent = wait_for("reply sent", Duration::from_secs(10), || async {
        let m = engine.caixa.get_message(reply.id).await.unwrap();
        (m.delivery != Some(Delivery::Queued)).then_some(m)
    })
    .await;
    assert_eq!(sent.delivery, Some(Delivery::Sent), "{:?}", sent.error);
    let out = bot.sent_messages();
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(out[0].method, "sendMessage");
    assert_eq!(out[0].chat_id, 4242);
    assert_eq!(
        out[0].text.as_deref(),
        Some("Já reenviamos, segue a etiqueta.")
    );
    assert_eq!(out[1].method, "sendPhoto");
    // A private note never reaches Telegram.
    engine
        .caixa
        .send_message(row.id, "internal: VIP customer", true, &[])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(bot.sent_messages().len(), 2, "a note was sent");
    let f = out[1].file.as_ref().unwrap();
    assert_eq!(f.bytes, b"\x89PNG\r\n\x1a\nlabel");
    assert_eq!(f.file_name.as_deref(), Some("etiqueta.png"));

    // Restart: the saved offset means nothing is fetched or stored twice.
    let before = engine.count("SELECT COUNT(*) FROM messages").await;
    let dir = engine.stop_keep_data().await;
    let engine = Engine::start(dir, Secrets::memory()).await;
    // The in-memory keychain did not survive: give the token again (an edit keeps the rest).
    engine
        .caixa
        .update_inbox(inbox_id, input(&fake, TOKEN))
        .await
        .unwrap();
    bot.push_text(&maria, "Chegou, obrigada!");
    wait_for("the new message", Duration::from_secs(10), || async {
        (engine.count("SELECT COUNT(*) FROM messages").await == before + 1).then_some(())
    })
    .await;
    let texts: Vec<String> = engine
        .caixa
        .list_messages(row.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.content)
        .collect();
    assert_eq!(texts.iter().filter(|t| t.starts_with("Olá!")).count(), 1);
    assert_eq!(texts.last().map(String::as_str), Some("Chegou, obrigada!"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_and_rate_limits_are_named_and_recovered() {
    let fake = TelegramFake::start().await;
    let engine = Engine::start(tempfile::tempdir().unwrap(), Secrets::memory()).await;
    let (view, bot) = added(&engine, &fake).await;
    let inbox_id = view.inbox.id;

    // A webhook set elsewhere: Telegram answers getUpdates with 409; the inbox says why.
    bot.set_webhook_active(true);
    let reason = wait_for(
        "webhook conflict shown",
        Duration::from_secs(40),
        || async {
            match state(&engine, inbox_id).await {
                InboxState::Error { reason } => Some(reason),
                _ => None,
            }
        },
    )
    .await;
    assert!(reason.contains("webhook is set"), "{reason}");
    bot.set_webhook_active(false);
    // Editing the inbox (or "sync now") retries at once instead of after 15 minutes.
    engine
        .caixa
        .update_inbox(inbox_id, input(&fake, TOKEN))
        .await
        .unwrap();
    wait_for("connected again", Duration::from_secs(10), || async {
        (state(&engine, inbox_id).await == InboxState::Connected).then_some(())
    })
    .await;

    // 429 on send: retried after the wait, then delivered once.
    let ana = ChatInfo::new(77, "Ana");
    bot.push_text(&ana, "oi");
    let row = wait_for("conversation", Duration::from_secs(10), || async {
        rows(&engine).await.into_iter().next()
    })
    .await;
    fake.fail_next(
        "sendMessage",
        Failure::RateLimited {
            retry_after_secs: 1,
        },
    );
    let reply = engine
        .caixa
        .send_message(row.id, "Olá Ana", false, &[])
        .await
        .unwrap();
    let asked = std::time::Instant::now();
    let sent = wait_for("reply after 429", Duration::from_secs(15), || async {
        let m = engine.caixa.get_message(reply.id).await.unwrap();
        (m.delivery == Some(Delivery::Sent)).then_some(m)
    })
    .await;
    assert_eq!(sent.delivery, Some(Delivery::Sent));
    assert!(
        asked.elapsed() >= Duration::from_millis(900),
        "retried before Telegram's retry_after of 1 s"
    );
    let to_ana: Vec<_> = bot
        .sent_messages()
        .into_iter()
        .filter(|m| m.chat_id == 77)
        .collect();
    assert_eq!(to_ana.len(), 1, "sent exactly once: {to_ana:?}");
    let attempts = fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/sendMessage") || r.path.ends_with("/SendMessage"))
        .count();
    assert_eq!(attempts, 2, "one refused attempt, one delivery");

    // Blocked by the user: a permanent failure with Telegram's reason, not retried.
    fake.fail_next(
        "sendMessage",
        Failure::Status {
            status: 403,
            code: 403,
            message: "Forbidden: bot was blocked by the user".into(),
        },
    );
    let blocked = engine
        .caixa
        .send_message(row.id, "Ainda aí?", false, &[])
        .await
        .unwrap();
    let failed = wait_for("permanent failure", Duration::from_secs(10), || async {
        let m = engine.caixa.get_message(blocked.id).await.unwrap();
        (m.delivery == Some(Delivery::Failed)).then_some(m)
    })
    .await;
    assert!(
        failed.error.as_deref().unwrap_or("").contains("blocked"),
        "{:?}",
        failed.error
    );

    // Telegram unreachable: the reason is shown, and the token in the URL is not.
    drop(fake);
    let refused = engine
        .caixa
        .update_inbox(inbox_id, input_at("http://127.0.0.1:9", TOKEN))
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("cannot reach Telegram"), "{refused}");
    assert!(!refused.contains(TOKEN), "the bot token leaked: {refused}");
    let reason = wait_for("the outage shown", Duration::from_secs(40), || async {
        match state(&engine, inbox_id).await {
            InboxState::Error { reason } if reason.contains("cannot reach") => Some(reason),
            _ => None,
        }
    })
    .await;
    assert!(!reason.contains(TOKEN), "the bot token leaked: {reason}");
    assert!(
        !reason.contains("ABC-caixa"),
        "the bot token leaked: {reason}"
    );
}

fn input_at(base: &str, token: &str) -> InboxInput {
    InboxInput {
        name: "Acme bot".into(),
        settings: InboxSettings::Telegram(TelegramSettings {
            bot_username: None,
            api_base_url: Some(base.into()),
        }),
        password: Some(token.into()),
        webhook_secret: None,
    }
}
