//! Files in replies on the messaging channels, each the way its provider takes them: Twilio
//! (MediaUrl), LINE (image messages) and Instagram (attachment URL) fetch them from signed
//! public links to the gateway; Messenger takes a multipart upload; X an upload to
//! /2/media/upload then the media id. Also: a link only serves its own file, customers' files
//! are never served, and files are refused up front when a channel cannot take them.

mod common;

use std::time::Duration;

use caixa_core::model::*;
use caixa_core::secrets::Secrets;
use caixa_core::{Caixa, Config, RetryPolicy, Running};
use caixa_fakes::line::{self, LineFake};
use caixa_fakes::messenger::{MessengerFake, Platform};
use caixa_fakes::twilio::TwilioFake;
use caixa_fakes::x::XFake;
use common::{public_gateway, wait_for};

struct Engine {
    caixa: Caixa,
    _running: Running,
    dir: tempfile::TempDir,
}

async fn engine(public: bool) -> Engine {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::new(dir.path().to_path_buf(), Secrets::memory());
    cfg.retry = RetryPolicy {
        base: Duration::from_millis(200),
        max_attempts: 4,
    };
    if public {
        public_gateway(&mut cfg);
    }
    let caixa = Caixa::open(cfg).unwrap();
    let running = caixa.start().await.unwrap();
    Engine {
        caixa,
        _running: running,
        dir,
    }
}

impl Engine {
    async fn stage(&self, name: &str, bytes: &[u8]) -> StagedFile {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        self.caixa.stage_file(path).await.unwrap()
    }

    async fn first_row(&self, kind: ChannelKind) -> ConversationRow {
        wait_for("a conversation", Duration::from_secs(15), || async {
            self.caixa
                .list_conversations(ConversationFilter::default(), None, 10)
                .await
                .unwrap()
                .items
                .into_iter()
                .find(|r| r.channel == kind)
        })
        .await
    }

    async fn sent(&self, id: MessageId) -> Message {
        wait_for("the reply sent", Duration::from_secs(15), || async {
            let m = self.caixa.get_message(id).await.unwrap();
            assert_ne!(m.delivery, Some(Delivery::Failed), "{:?}", m.error);
            (m.delivery == Some(Delivery::Sent)).then_some(m)
        })
        .await
    }
}

fn png(seed: u8) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend((0..3000u32).map(|i| (i as u8).wrapping_mul(seed)));
    b
}

/// Fetches a public link the way a provider would.
async fn fetch(url: &str) -> (u16, Vec<u8>) {
    let res = reqwest::get(url).await.unwrap();
    (res.status().as_u16(), res.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twilio_fetches_reply_files_from_signed_links() {
    const SID: &str = "AC0123456789abcdef0123456789abcdef";
    let fake = TwilioFake::start().await;
    let account = fake.add_account(SID, "auth");
    account.push_incoming("+5511987654321", "+15550100000", "Oi", vec![]);
    let e = engine(true).await;
    e.caixa
        .add_inbox(InboxInput {
            name: "SMS".into(),
            settings: InboxSettings::Twilio(TwilioSettings {
                account_sid: SID.into(),
                number: "+15550100000".into(),
                api_base_url: Some(fake.base_url()),
            }),
            password: Some("auth".into()),
            webhook_secret: None,
        })
        .await
        .unwrap();
    let row = e.first_row(ChannelKind::Twilio).await;
    let (a, b) = (png(3), png(7));
    let files = vec![
        e.stage("vitrine.png", &a).await,
        e.stage("preço 2.png", &b).await,
    ];
    let reply = e
        .caixa
        .send_message(row.id, "Seguem as fotos", false, &files)
        .await
        .unwrap();
    e.sent(reply.id).await;
    let out = account.sent_messages().pop().unwrap();
    assert_eq!(out.body, "Seguem as fotos");
    assert_eq!(out.media_urls.len(), 2, "{out:?}");
    assert_eq!(fetch(&out.media_urls[0]).await, (200, a));
    assert_eq!(fetch(&out.media_urls[1]).await, (200, b.clone()));
    assert!(
        out.media_urls[1].ends_with("/pre%C3%A7o%202.png"),
        "{}",
        out.media_urls[1]
    );

    // A link serves only its own file: another id, a changed signature → 404.
    let url = &out.media_urls[0];
    let mut parts: Vec<&str> = url.rsplitn(4, '/').collect();
    parts.reverse(); // base/media, id, sig, name
    let forged_sig = format!("{}/{}/{}/{}", parts[0], parts[1], "0".repeat(32), parts[3]);
    assert_eq!(fetch(&forged_sig).await.0, 404);
    let other_id: i64 = parts[1].parse::<i64>().unwrap() + 1;
    let other = format!("{}/{}/{}/{}", parts[0], other_id, parts[2], parts[3]);
    assert_eq!(fetch(&other).await.0, 404);

    // Without a public address Twilio could not fetch them: refused before anything is stored.
    let private = engine(false).await;
    private
        .caixa
        .add_inbox(InboxInput {
            name: "SMS".into(),
            settings: InboxSettings::Twilio(TwilioSettings {
                account_sid: SID.into(),
                number: "+15550100000".into(),
                api_base_url: Some(fake.base_url()),
            }),
            password: Some("auth".into()),
            webhook_secret: None,
        })
        .await
        .unwrap();
    let row = private.first_row(ChannelKind::Twilio).await;
    let f = private.stage("a.png", &png(1)).await;
    let err = private
        .caixa
        .send_message(row.id, "foto", false, &[f])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("CAIXA_PUBLIC_URL"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_sends_images_by_link_and_refuses_other_files() {
    const USER: &str = "U4af4980629aaaaaaaaaaaaaaaaaaaaaa";
    let fake = LineFake::start().await;
    let channel = fake.add_channel("tok", "Ubot0000000000000000000000000000", "Acme");
    channel.add_user(USER, "Yui");
    let e = engine(true).await;
    let view = e
        .caixa
        .add_inbox(InboxInput {
            name: "LINE".into(),
            settings: InboxSettings::Line(LineSettings {
                bot_name: None,
                api_base_url: Some(fake.base_url()),
            }),
            password: Some("tok".into()),
            webhook_secret: Some("secret".into()),
        })
        .await
        .unwrap();
    let body = channel.webhook_text(USER, "こんにちは");
    let raw = serde_json::to_vec(&body).unwrap();
    let status = reqwest::Client::new()
        .post(view.endpoint_url.unwrap())
        .header("content-type", "application/json")
        .header("x-line-signature", line::sign("secret", &raw))
        .body(raw)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    let row = e.first_row(ChannelKind::Line).await;

    let pdf = e.stage("menu.pdf", b"%PDF-1.4 menu").await;
    let err = e
        .caixa
        .send_message(row.id, "menu", false, &[pdf])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("JPEG or PNG"), "{err}");

    let image = png(5);
    let f = e.stage("mapa.png", &image).await;
    let reply = e
        .caixa
        .send_message(row.id, "Aqui", false, &[f])
        .await
        .unwrap();
    e.sent(reply.id).await;
    let push = channel.sent_messages().pop().unwrap();
    assert_eq!(push.messages.len(), 2, "{push:?}");
    assert_eq!(push.messages[0]["type"], "text");
    assert_eq!(push.messages[1]["type"], "image");
    let url = push.messages[1]["originalContentUrl"].as_str().unwrap();
    assert_eq!(push.messages[1]["previewImageUrl"], url);
    assert_eq!(fetch(url).await, (200, image));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messenger_uploads_files_and_instagram_links_them() {
    const PAGE: &str = "200000000000001";
    let fake = MessengerFake::start().await;
    let page = fake.add_page(PAGE, "Acme Store", "page-token");
    page.push_incoming(Platform::Messenger, "6001", "Ana Lima", "Oi", vec![]);
    page.push_incoming(Platform::Instagram, "7001", "bia.r", "Oi", vec![]);
    let e = engine(true).await;
    let settings = MessengerSettings {
        page_id: PAGE.into(),
        page_name: None,
        instagram_id: None,
        poll_seconds: Some(1),
        api_version: None,
        api_base_url: Some(fake.base_url()),
    };
    for s in [
        InboxSettings::Messenger(settings.clone()),
        InboxSettings::Instagram(settings),
    ] {
        e.caixa
            .add_inbox(InboxInput {
                name: "Acme".into(),
                settings: s,
                password: Some("page-token".into()),
                webhook_secret: None,
            })
            .await
            .unwrap();
    }
    let fb = e.first_row(ChannelKind::Messenger).await;
    let ig = e.first_row(ChannelKind::Instagram).await;

    let receipt = b"%PDF-1.4 receipt".to_vec();
    let f = e.stage("recibo.pdf", &receipt).await;
    let reply = e.caixa.send_message(fb.id, "", false, &[f]).await.unwrap();
    e.sent(reply.id).await;
    let out = page
        .sent_messages()
        .into_iter()
        .find(|m| m.recipient_id == "6001")
        .unwrap();
    assert_eq!(out.upload.as_deref(), Some(receipt.as_slice()));
    assert_eq!(out.attachment.as_ref().unwrap()["type"], "file");

    let photo = png(9);
    let f = e.stage("azul.png", &photo).await;
    let reply = e
        .caixa
        .send_message(ig.id, "Temos", false, &[f])
        .await
        .unwrap();
    e.sent(reply.id).await;
    let sent: Vec<_> = page
        .sent_messages()
        .into_iter()
        .filter(|m| m.recipient_id == "7001")
        .collect();
    assert_eq!(sent[0].text.as_deref(), Some("Temos"));
    let attachment = sent[1].attachment.clone().unwrap();
    assert_eq!(attachment["type"], "image");
    let url = attachment["payload"]["url"].as_str().unwrap();
    assert_eq!(fetch(url).await, (200, photo));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_uploads_the_file_then_attaches_its_media_id() {
    let fake = XFake::start().await;
    let account = fake.add_user_token("x-token", "1500000000000000001", "acme", "Acme");
    account.push_dm("2244994945", "maria_s", "Maria Souza", "oi");
    let e = engine(false).await; // X takes uploads: no public address needed
    e.caixa
        .add_inbox(InboxInput {
            name: "X".into(),
            settings: InboxSettings::X(XSettings {
                username: None,
                user_id: None,
                poll_seconds: Some(1),
                api_base_url: Some(fake.base_url()),
            }),
            password: Some("x-token".into()),
            webhook_secret: None,
        })
        .await
        .unwrap();
    let row = e.first_row(ChannelKind::X).await;
    let two = [
        e.stage("a.png", &png(1)).await,
        e.stage("b.png", &png(2)).await,
    ];
    let err = e
        .caixa
        .send_message(row.id, "fotos", false, &two)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("one file per message"), "{err}");

    let image = png(4);
    let f = e.stage("cupom.png", &image).await;
    let reply = e
        .caixa
        .send_message(row.id, "Seu cupom", false, &[f])
        .await
        .unwrap();
    e.sent(reply.id).await;
    let dm = account.sent_dms().pop().unwrap();
    assert_eq!(dm.text.as_deref(), Some("Seu cupom"));
    assert_eq!(dm.media_ids.len(), 1);
    let (category, mime, bytes) = fake.upload(&dm.media_ids[0]).unwrap();
    assert_eq!(
        (category.as_str(), mime.as_str()),
        ("dm_image", "image/png")
    );
    assert_eq!(bytes, image);
}
