//! X direct messages against the local fake API v2 (`caixa-fakes`): the token checked on save
//! (the account named), DMs polled in (our own messages skipped, no repeats), a reply sent to
//! the participant, and the `x-rate-limit-*` headers honoured (429 names the wait).

mod common;
use std::time::Duration;

use caixa_core::model::*;
use caixa_core::secrets::Secrets;
use caixa_core::{Caixa, Config, RetryPolicy, Running};
use caixa_fakes::x::XFake;
use caixa_fakes::Failure;
use common::wait_for;

const TOKEN: &str = "x-oauth2-user-token";

async fn engine() -> (Caixa, Running, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::new(dir.path().to_path_buf(), Secrets::memory());
    cfg.retry = RetryPolicy {
        base: Duration::from_millis(200),
        max_attempts: 4,
    };
    let caixa = Caixa::open(cfg).unwrap();
    let running = caixa.start().await.unwrap();
    (caixa, running, dir)
}

fn input(fake: &XFake, token: &str) -> InboxInput {
    InboxInput {
        name: "Acme on X".into(),
        settings: InboxSettings::X(XSettings {
            username: None,
            user_id: None,
            poll_seconds: Some(1),
            api_base_url: Some(fake.base_url()),
        }),
        password: Some(token.into()),
        webhook_secret: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dms_in_replies_out_and_rate_limits() {
    let fake = XFake::start().await;
    let account = fake.add_user_token(TOKEN, "1500000000000000001", "acme", "Acme Support");
    let (caixa, _running, _dir) = engine().await;

    let err = caixa.add_inbox(input(&fake, "wrong")).await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    let view = caixa.add_inbox(input(&fake, TOKEN)).await.unwrap();
    let InboxSettings::X(s) = &view.inbox.settings else {
        panic!("x settings")
    };
    assert_eq!(s.username.as_deref(), Some("acme"));

    account.push_dm(
        "2244994945",
        "maria_s",
        "Maria Souza",
        "Oi! Meu pedido atrasou",
    );
    let row = wait_for("the DM", Duration::from_secs(10), || async {
        caixa
            .list_conversations(ConversationFilter::default(), None, 10)
            .await
            .unwrap()
            .items
            .into_iter()
            .next()
    })
    .await;
    assert_eq!(row.contact_name, "Maria Souza");
    assert_eq!(row.channel, ChannelKind::X);

    // The reply goes to the participant; it shows up in dm_events too and is not re-imported.
    let reply = caixa
        .send_message(row.id, "Olá Maria, vamos verificar.", false, &[])
        .await
        .unwrap();
    wait_for("the reply", Duration::from_secs(10), || async {
        let m = caixa.get_message(reply.id).await.unwrap();
        (m.delivery == Some(Delivery::Sent)).then_some(())
    })
    .await;
    let sent = account.sent_dms();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].participant_id, "2244994945");
    assert_eq!(sent[0].text.as_deref(), Some("Olá Maria, vamos verificar."));
    // A private note never reaches X.
    caixa
        .send_message(row.id, "internal: VIP customer", true, &[])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(account.sent_dms().len(), 1, "a note was sent");
    account.push_dm("2244994945", "maria_s", "Maria Souza", "Obrigada");
    let msgs = wait_for("the second DM", Duration::from_secs(10), || async {
        let m = caixa.list_messages(row.id).await.unwrap();
        m.iter().any(|m| m.content == "Obrigada").then_some(m)
    })
    .await;
    // The customer's two DMs, our reply (not re-imported from dm_events) and the note.
    let kinds: Vec<_> = msgs.iter().map(|m| (m.kind, m.content.clone())).collect();
    assert_eq!(kinds.len(), 4, "{kinds:?}");

    // 429 with x-rate-limit-reset: the inbox says so and waits for the reset.
    fake.fail_next(
        "/2/dm_events",
        Failure::RateLimited {
            retry_after_secs: 2,
        },
    );
    let reason = wait_for("the rate limit shown", Duration::from_secs(10), || async {
        match caixa
            .list_inboxes()
            .await
            .unwrap()
            .into_iter()
            .next()
            .unwrap()
            .state
        {
            InboxState::Error { reason } => Some(reason),
            _ => None,
        }
    })
    .await;
    assert!(reason.contains("rate limit"), "{reason}");
    let limited_at = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/2/dm_events")
        .count();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let during = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/2/dm_events")
        .count();
    assert_eq!(during, limited_at, "polled again before the reset");
    account.push_dm("2244994945", "maria_s", "Maria Souza", "Depois do limite");
    wait_for("a DM after the reset", Duration::from_secs(10), || async {
        caixa
            .list_messages(row.id)
            .await
            .unwrap()
            .iter()
            .any(|m| m.content == "Depois do limite")
            .then_some(())
    })
    .await;
}
