//! SMS through Twilio against the local fake REST API (`caixa-fakes`): credentials checked on
//! save, inbound messages polled (paging back to the newest stored one, media downloaded),
//! replies sent with the exact form fields, restart without repeats, and 20429 backed off.

mod common;
use std::time::Duration;

use caixa_core::model::*;
use caixa_core::secrets::Secrets;
use caixa_core::{Caixa, Config, RetryPolicy, Running};
use caixa_fakes::twilio::TwilioFake;
use caixa_fakes::Failure;
use common::wait_for;

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH: &str = "twilio-auth-token";
const NUMBER: &str = "+15550100000";
const CUSTOMER: &str = "+5511987654321";

struct Engine {
    caixa: Caixa,
    running: Option<Running>,
    dir: tempfile::TempDir,
}

impl Engine {
    async fn start(dir: tempfile::TempDir) -> Engine {
        let mut cfg = Config::new(dir.path().to_path_buf(), Secrets::memory());
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

    async fn restart(mut self) -> Engine {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        Engine::start(self.dir).await
    }

    async fn count(&self, sql: &'static str) -> i64 {
        self.caixa
            .store()
            .read(move |c| Ok(c.query_row(sql, [], |r| r.get(0))?))
            .await
            .unwrap()
    }
}

fn input(fake: &TwilioFake, token: &str) -> InboxInput {
    InboxInput {
        name: "Acme SMS".into(),
        settings: InboxSettings::Twilio(TwilioSettings {
            account_sid: SID.into(),
            number: NUMBER.into(),
            api_base_url: Some(fake.base_url()),
        }),
        password: Some(token.into()),
        webhook_secret: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_in_and_out_without_repeats() {
    let fake = TwilioFake::start().await;
    let account = fake.add_account(SID, AUTH);
    // History from before the inbox existed: only the newest page is taken at first.
    account.push_incoming(CUSTOMER, NUMBER, "Oi, vocês abrem sábado?", vec![]);
    let engine = Engine::start(tempfile::tempdir().unwrap()).await;

    let err = engine
        .caixa
        .add_inbox(input(&fake, "wrong"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("20003"), "{err}");
    let view = engine.caixa.add_inbox(input(&fake, AUTH)).await.unwrap();
    let inbox_id = view.inbox.id;

    let row = wait_for("the first SMS", Duration::from_secs(10), || async {
        engine
            .caixa
            .list_conversations(ConversationFilter::default(), None, 10)
            .await
            .unwrap()
            .items
            .into_iter()
            .next()
    })
    .await;
    assert_eq!(row.contact_name, CUSTOMER);
    assert_eq!(row.channel, ChannelKind::Twilio);
    assert_eq!(row.preview, "Oi, vocês abrem sábado?");

    // An MMS with a picture; the poll picks it up and downloads the media.
    let picture: Vec<u8> = (0..2048u32).map(|i| (i % 200) as u8).collect();
    account.push_incoming(
        CUSTOMER,
        NUMBER,
        "Foto da vitrine",
        vec![("image/jpeg".into(), picture.clone())],
    );
    let msgs = wait_for("the MMS", Duration::from_secs(15), || async {
        let m = engine.caixa.list_messages(row.id).await.unwrap();
        (m.len() == 2).then_some(m)
    })
    .await;
    assert_eq!(msgs[1].content, "Foto da vitrine");
    let file = engine
        .caixa
        .attachment_file(msgs[1].attachments[0].id)
        .await
        .unwrap();
    assert_eq!(std::fs::read(file).unwrap(), picture);

    // A reply: exactly To, From, Body to Messages.json; 20429 first, so it is backed off.
    // Polls use the same path every 5 s: inject the failure right after one, so the send
    // (immediate) is what meets it.
    let gets = || fake.requests().iter().filter(|r| r.method == "GET").count();
    let polls = gets();
    wait_for("a poll", Duration::from_secs(10), || async {
        (gets() > polls).then_some(())
    })
    .await;
    fake.fail_next(
        "Messages.json",
        Failure::RateLimited {
            retry_after_secs: 0,
        },
    );
    let reply = engine
        .caixa
        .send_message(row.id, "Abrimos sim, das 9h às 13h.", false, &[])
        .await
        .unwrap();
    let sent = wait_for("the reply", Duration::from_secs(20), || async {
        let m = engine.caixa.get_message(reply.id).await.unwrap();
        (m.delivery == Some(Delivery::Sent)).then_some(m)
    })
    .await;
    assert!(sent.error.is_none());
    let out = account.sent_messages();
    assert_eq!(out.len(), 1, "sent once");
    let posts = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 2, "one refused with 20429, one accepted");
    // A private note never reaches Twilio.
    engine
        .caixa
        .send_message(row.id, "internal: VIP customer", true, &[])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(account.sent_messages().len(), 1, "a note was sent");
    let form: Vec<(String, String)> = out[0].params.clone();
    assert!(form.contains(&("To".into(), CUSTOMER.into())), "{form:?}");
    assert!(form.contains(&("From".into(), NUMBER.into())), "{form:?}");
    assert!(
        form.contains(&("Body".into(), "Abrimos sim, das 9h às 13h.".into())),
        "{form:?}"
    );

    // Twilio fetches files from a public URL; this engine has none, so files are refused
    // up front (tests/files_out.rs sends them through a public gateway).
    let picked = engine.dir.path().join("menu.pdf");
    std::fs::write(&picked, b"%PDF").unwrap();
    let staged = engine.caixa.stage_file(picked).await.unwrap();
    let err = engine
        .caixa
        .send_message(row.id, "menu", false, &[staged])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("CAIXA_PUBLIC_URL"), "{err}");

    // Restart: the cursor means nothing is stored twice; new messages still arrive.
    let before = engine.count("SELECT COUNT(*) FROM messages").await;
    let engine = engine.restart().await;
    engine
        .caixa
        .update_inbox(inbox_id, input(&fake, AUTH))
        .await
        .unwrap();
    account.push_incoming(CUSTOMER, NUMBER, "Obrigado!", vec![]);
    wait_for("the new SMS", Duration::from_secs(15), || async {
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
    assert_eq!(texts.iter().filter(|t| t.starts_with("Oi,")).count(), 1);
    assert_eq!(texts.last().map(String::as_str), Some("Obrigado!"));
}
