//! Messenger and Instagram against the local fake Graph API (`caixa-fakes`): the Page token
//! checked on save, conversations polled (attachments downloaded, our own replies not
//! re-imported), replies through the Send API (RESPONSE within 24 h, HUMAN_AGENT tag up to 7
//! days), and the window closed after 7 days.

mod common;
use std::time::Duration;

use caixa_core::model::*;
use caixa_core::secrets::Secrets;
use caixa_core::{Caixa, Config, RetryPolicy, Running};
use caixa_fakes::messenger::{MessengerFake, Platform};
use common::wait_for;

const PAGE: &str = "200000000000001";
const TOKEN: &str = "page-access-token";

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

fn settings(fake: &MessengerFake) -> MessengerSettings {
    MessengerSettings {
        page_id: PAGE.into(),
        page_name: None,
        instagram_id: None,
        poll_seconds: Some(1),
        api_version: None,
        api_base_url: Some(fake.base_url()),
    }
}

fn input(settings: InboxSettings, token: &str) -> InboxInput {
    InboxInput {
        name: "Acme".into(),
        settings,
        password: Some(token.into()),
        webhook_secret: None,
    }
}

async fn rows(caixa: &Caixa, kind: ChannelKind) -> Vec<ConversationRow> {
    caixa
        .list_conversations(ConversationFilter::default(), None, 50)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|r| r.channel == kind)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messenger_and_instagram_polled_and_answered() {
    let fake = MessengerFake::start().await;
    let page = fake.add_page(PAGE, "Acme Store", TOKEN);
    page.link_instagram("17841400000000001", "acme.store");
    let (caixa, _running, _dir) = engine().await;

    let err = caixa
        .add_inbox(input(InboxSettings::Messenger(settings(&fake)), "wrong"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("190"), "{err}");
    let fb = caixa
        .add_inbox(input(InboxSettings::Messenger(settings(&fake)), TOKEN))
        .await
        .unwrap();
    let InboxSettings::Messenger(s) = &fb.inbox.settings else {
        panic!("messenger settings")
    };
    assert_eq!(s.page_name.as_deref(), Some("Acme Store"));
    caixa
        .add_inbox(input(InboxSettings::Instagram(settings(&fake)), TOKEN))
        .await
        .unwrap();

    let photo: Vec<u8> = (0..1500u32).map(|i| (i % 250) as u8).collect();
    page.push_incoming(
        Platform::Messenger,
        "6001",
        "Ana Lima",
        "Oi, tem em azul?",
        vec![],
    );
    page.push_incoming(
        Platform::Messenger,
        "6001",
        "Ana Lima",
        "Esta aqui",
        vec![("image/jpeg".into(), photo.clone())],
    );
    page.push_incoming(
        Platform::Instagram,
        "7001",
        "bia.r",
        "Vocês entregam em Recife?",
        vec![],
    );

    let fb_row = wait_for(
        "the Messenger conversation",
        Duration::from_secs(15),
        || async {
            let r = rows(&caixa, ChannelKind::Messenger)
                .await
                .into_iter()
                .next()?;
            (caixa.list_messages(r.id).await.unwrap().len() == 2).then_some(r)
        },
    )
    .await;
    assert_eq!(fb_row.contact_name, "Ana Lima");
    let msgs = caixa.list_messages(fb_row.id).await.unwrap();
    assert_eq!(msgs[0].content, "Oi, tem em azul?");
    let file = caixa
        .attachment_file(msgs[1].attachments[0].id)
        .await
        .unwrap();
    assert_eq!(std::fs::read(file).unwrap(), photo);
    let ig_row = wait_for(
        "the Instagram conversation",
        Duration::from_secs(15),
        || async {
            rows(&caixa, ChannelKind::Instagram)
                .await
                .into_iter()
                .next()
        },
    )
    .await;
    assert_eq!(ig_row.contact_name, "bia.r");

    // Within 24 h: a plain RESPONSE to the customer's id; it is not imported back.
    let reply = caixa
        .send_message(fb_row.id, "Temos sim!", false, &[])
        .await
        .unwrap();
    wait_for("reply sent", Duration::from_secs(10), || async {
        let m = caixa.get_message(reply.id).await.unwrap();
        (m.delivery == Some(Delivery::Sent)).then_some(())
    })
    .await;
    let sent = page.sent_messages();
    assert_eq!(sent[0].recipient_id, "6001");
    assert_eq!(sent[0].messaging_type, "RESPONSE");
    assert_eq!(sent[0].text.as_deref(), Some("Temos sim!"));
    let ig_reply = caixa
        .send_message(ig_row.id, "Entregamos!", false, &[])
        .await
        .unwrap();
    wait_for("instagram reply sent", Duration::from_secs(10), || async {
        let m = caixa.get_message(ig_reply.id).await.unwrap();
        (m.delivery == Some(Delivery::Sent)).then_some(())
    })
    .await;
    assert_eq!(page.sent_messages()[1].platform, Platform::Instagram);
    // A private note never reaches Meta.
    caixa
        .send_message(ig_row.id, "internal: VIP customer", true, &[])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(page.sent_messages().len(), 2, "a note was sent");

    // The Send API's rate limit (code 613): backed off, then sent once.
    let send_path = format!("{PAGE}/messages");
    let posts = || {
        fake.requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with(&send_path))
            .count()
    };
    let before = posts();
    fake.fail_next(
        &send_path,
        caixa_fakes::messenger::failures::send_rate_limit(),
    );
    let limited = caixa
        .send_message(fb_row.id, "Um momento, por favor", false, &[])
        .await
        .unwrap();
    wait_for(
        "the reply after the rate limit",
        Duration::from_secs(15),
        || async {
            let m = caixa.get_message(limited.id).await.unwrap();
            (m.delivery == Some(Delivery::Sent)).then_some(())
        },
    )
    .await;
    assert_eq!(posts(), before + 2, "one refused with 613, one accepted");
    assert_eq!(page.sent_messages().len(), 3);
    // A few polls later, still only the customer's two messages and our two replies.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(caixa.list_messages(fb_row.id).await.unwrap().len(), 4);

    // Two days later: still possible with the HUMAN_AGENT tag.
    let age = |hours: i64| {
        let id = fb_row.id;
        caixa.store().write(move |tx| {
            tx.execute(
                "UPDATE conversations SET last_incoming_at = ?2 WHERE id = ?1",
                rusqlite::params![id, caixa_core::store::now_ms() - hours * 3600 * 1000],
            )?;
            Ok(())
        })
    };
    age(48).await.unwrap();
    page.set_last_inbound_age("6001", Duration::from_secs(48 * 3600));
    let late = caixa
        .send_message(fb_row.id, "Ainda quer o azul?", false, &[])
        .await
        .unwrap();
    wait_for("tagged reply sent", Duration::from_secs(10), || async {
        let m = caixa.get_message(late.id).await.unwrap();
        (m.delivery == Some(Delivery::Sent)).then_some(())
    })
    .await;
    let tagged = page.sent_messages().last().cloned().unwrap();
    assert_eq!(tagged.messaging_type, "MESSAGE_TAG");
    assert_eq!(tagged.tag.as_deref(), Some("HUMAN_AGENT"));

    // After 7 days the reply box refuses before queueing.
    age(8 * 24).await.unwrap();
    let err = caixa
        .send_message(fb_row.id, "Oi?", false, &[])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("more than"), "{err}");
}
