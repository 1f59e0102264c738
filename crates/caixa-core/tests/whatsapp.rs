//! WhatsApp Cloud API inboxes against the local fake Graph API (`caixa-fakes`): the
//! connection check on save, the webhook (verify challenge, signature checked before anything
//! is stored, text/image/location in, repeats ignored), replies with files out, delivery
//! reports, the 24-hour window and throughput limits.

mod common;
use std::time::Duration;

use caixa_core::model::*;
use caixa_core::secrets::Secrets;
use caixa_core::{Caixa, Config, RetryPolicy, Running};
use caixa_fakes::whatsapp::{self as wa, WhatsAppFake, WhatsAppNumber};
use common::wait_for;

const PHONE_ID: &str = "106540352242922";
const TOKEN: &str = "EAAG-caixa-test-token";
const APP_SECRET: &str = "caixa-app-secret";
const CUSTOMER: &str = "5511987654321";

struct Engine {
    caixa: Caixa,
    _running: Running,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl Engine {
    async fn start() -> Engine {
        let dir = tempfile::tempdir().unwrap();
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
            dir,
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

    /// POSTs a webhook body to the inbox's callback URL, signed like Meta does (or not).
    async fn deliver(&self, url: &str, body: &serde_json::Value, secret: Option<&str>) -> u16 {
        let raw = serde_json::to_vec(body).unwrap();
        let mut req = self
            .http
            .post(url)
            .header("content-type", "application/json");
        if let Some(secret) = secret {
            req = req.header("x-hub-signature-256", wa::sign(secret, &raw));
        }
        req.body(raw).send().await.unwrap().status().as_u16()
    }
}

fn input(fake: &WhatsAppFake, token: &str, app_secret: Option<&str>) -> InboxInput {
    InboxInput {
        name: "Acme WhatsApp".into(),
        settings: InboxSettings::WhatsApp(WhatsAppSettings {
            phone_number_id: PHONE_ID.into(),
            business_account_id: None,
            display_phone: None,
            verify_token: "my-verify-token".into(),
            api_version: None,
            api_base_url: Some(fake.base_url()),
        }),
        password: Some(token.into()),
        webhook_secret: app_secret.map(str::to_string),
    }
}

async fn setup() -> (Engine, WhatsAppFake, WhatsAppNumber, InboxView) {
    let fake = WhatsAppFake::start().await;
    let number = fake.add_phone_number(PHONE_ID, "+1 555-010-0000", "Acme", TOKEN);
    let engine = Engine::start().await;
    let view = engine
        .caixa
        .add_inbox(input(&fake, TOKEN, Some(APP_SECRET)))
        .await
        .unwrap();
    (engine, fake, number, view)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_in_replies_out_and_delivery_reports() {
    let fake = WhatsAppFake::start().await;
    let number = fake.add_phone_number(PHONE_ID, "+1 555-010-0000", "Acme", TOKEN);
    let engine = Engine::start().await;

    // Saving checks the token with Meta, and needs the app secret.
    let err = engine
        .caixa
        .add_inbox(input(&fake, "EAAG-wrong", Some(APP_SECRET)))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("WhatsApp refused"), "{err}");
    let err = engine
        .caixa
        .add_inbox(input(&fake, TOKEN, None))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("app secret"), "{err}");
    assert_eq!(engine.caixa.list_inboxes().await.unwrap().len(), 0);
    let view = engine
        .caixa
        .add_inbox(input(&fake, TOKEN, Some(APP_SECRET)))
        .await
        .unwrap();
    let InboxSettings::WhatsApp(s) = &view.inbox.settings else {
        panic!("whatsapp settings")
    };
    assert_eq!(s.display_phone.as_deref(), Some("+1 555-010-0000 (Acme)"));
    let hook = view
        .endpoint_url
        .clone()
        .expect("a callback URL to register");
    assert!(
        hook.ends_with(&format!("/hooks/{}", view.inbox.token)),
        "{hook}"
    );

    // Meta's verification GET: the challenge comes back only with the right verify token.
    let verify = |token: &str| {
        let q = wa::verify_challenge_params(token, "1158201444");
        engine.http.get(&hook).query(&q).send()
    };
    let ok = verify("my-verify-token").await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    assert_eq!(verify("not-it").await.unwrap().status(), 403);

    // Forged or missing signatures: 401 and nothing stored.
    let text = number.webhook_text(CUSTOMER, "Maria Souza", "Olá, meu pedido não chegou");
    assert_eq!(engine.deliver(&hook, &text, Some("forged")).await, 401);
    assert_eq!(engine.deliver(&hook, &text, None).await, 401);
    assert_eq!(engine.count("SELECT COUNT(*) FROM messages").await, 0);

    // Signed: stored once, even when Meta delivers it again.
    assert_eq!(engine.deliver(&hook, &text, Some(APP_SECRET)).await, 200);
    assert_eq!(engine.deliver(&hook, &text, Some(APP_SECRET)).await, 200);
    assert_eq!(engine.count("SELECT COUNT(*) FROM messages").await, 1);
    let row = engine
        .caixa
        .list_conversations(ConversationFilter::default(), None, 10)
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(row.contact_name, "Maria Souza");
    assert_eq!(row.channel, ChannelKind::WhatsApp);
    let closes = row.reply_window_closes_at.expect("a 24 h window");
    let left = closes - caixa_core::store::now_ms();
    assert!(
        (23 * 3600 * 1000..=24 * 3600 * 1000).contains(&left),
        "{left}"
    );

    // An image (downloaded with the token) and a location.
    let photo: Vec<u8> = (0..4000u32).map(|i| (i * 7 % 256) as u8).collect();
    let image = number.webhook_image(
        CUSTOMER,
        "Maria Souza",
        "image/jpeg",
        &photo,
        Some("a caixa"),
    );
    assert_eq!(engine.deliver(&hook, &image, Some(APP_SECRET)).await, 200);
    let place = number.webhook_location(CUSTOMER, "Maria Souza", -23.55, -46.63);
    assert_eq!(engine.deliver(&hook, &place, Some(APP_SECRET)).await, 200);
    let msgs = engine.caixa.list_messages(row.id).await.unwrap();
    assert_eq!(msgs.len(), 3);
    assert_eq!(msgs[1].content, "a caixa");
    let file = engine
        .caixa
        .attachment_file(msgs[1].attachments[0].id)
        .await
        .unwrap();
    assert_eq!(std::fs::read(file).unwrap(), photo);
    assert!(
        msgs[2]
            .content
            .starts_with("📍 Location: -23.550000, -46.630000"),
        "{}",
        msgs[2].content
    );

    // Reply with a file: the text, then the uploaded document.
    let picked = engine.dir.path().join("nota.pdf");
    std::fs::write(&picked, b"%PDF-1.4 nota").unwrap();
    let staged = engine.caixa.stage_file(picked).await.unwrap();
    let reply = engine
        .caixa
        .send_message(row.id, "Segue a nota fiscal.", false, &[staged])
        .await
        .unwrap();
    let sent = wait_for("reply sent", Duration::from_secs(10), || async {
        let m = engine.caixa.get_message(reply.id).await.unwrap();
        (m.delivery != Some(Delivery::Queued)).then_some(m)
    })
    .await;
    assert_eq!(sent.delivery, Some(Delivery::Sent), "{:?}", sent.error);
    let out = number.sent_messages();
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(out[0].to, CUSTOMER);
    assert_eq!(out[0].kind, "text");
    assert_eq!(out[0].text.as_deref(), Some("Segue a nota fiscal."));
    assert_eq!(out[0].body["messaging_product"], "whatsapp");
    assert_eq!(out[1].kind, "document");
    assert_eq!(out[1].body["document"]["filename"], "nota.pdf");
    assert!(out[1].body["document"]["id"].is_string());
    // A private note never reaches WhatsApp.
    engine
        .caixa
        .send_message(row.id, "internal: VIP customer", true, &[])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(number.sent_messages().len(), 2, "a note was sent");

    // Meta's delivery report moves the reply to "delivered"; a late "sent" does not undo it.
    let delivered = number.webhook_status(&out[0].id, "delivered");
    assert_eq!(
        engine.deliver(&hook, &delivered, Some(APP_SECRET)).await,
        200
    );
    let late = number.webhook_status(&out[0].id, "sent");
    assert_eq!(engine.deliver(&hook, &late, Some(APP_SECRET)).await, 200);
    let m = engine.caixa.get_message(reply.id).await.unwrap();
    assert_eq!(m.delivery, Some(Delivery::Delivered));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_and_throughput_limits() {
    let (engine, fake, number, view) = setup().await;
    let hook = view.endpoint_url.clone().unwrap();
    let text = number.webhook_text(CUSTOMER, "Ana", "oi");
    assert_eq!(engine.deliver(&hook, &text, Some(APP_SECRET)).await, 200);
    let row = engine
        .caixa
        .list_conversations(ConversationFilter::default(), None, 10)
        .await
        .unwrap()
        .items
        .remove(0);

    // Throughput limit (Graph code 130429): backed off, then delivered once.
    fake.fail_next("/messages", wa::failures::throughput());
    let reply = engine
        .caixa
        .send_message(row.id, "Olá Ana", false, &[])
        .await
        .unwrap();
    let m = wait_for("reply after the limit", Duration::from_secs(15), || async {
        let m = engine.caixa.get_message(reply.id).await.unwrap();
        (m.delivery == Some(Delivery::Sent)).then_some(m)
    })
    .await;
    assert_eq!(m.error, None);
    assert_eq!(number.sent_messages().len(), 1);

    // 25 hours later: the window is closed, and the reply box says so instead of queueing.
    engine
        .caixa
        .store()
        .write(|tx| {
            tx.execute(
                "UPDATE conversations SET last_incoming_at = last_incoming_at - 25 * 3600 * 1000",
                [],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let row = engine.caixa.get_conversation(row.id).await.unwrap();
    assert!(row.reply_window_closes_at.unwrap() < caixa_core::store::now_ms());
    let err = engine
        .caixa
        .send_message(row.id, "Ainda aí?", false, &[])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("24 hours"), "{err}");
    // Private notes are always fine; the customer writing again reopens the window.
    engine
        .caixa
        .send_message(row.id, "follow up tomorrow", true, &[])
        .await
        .unwrap();
    let again = number.webhook_text(CUSTOMER, "Ana", "voltei");
    assert_eq!(engine.deliver(&hook, &again, Some(APP_SECRET)).await, 200);
    engine
        .caixa
        .send_message(row.id, "Bem-vinda de volta", false, &[])
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approved_templates_reach_the_customer_after_the_window() {
    let (engine, _fake, number, view) = setup().await;
    let inbox = view.inbox.id;
    let hook = view.endpoint_url.clone().unwrap();
    let text = number.webhook_text(CUSTOMER, "Ana", "oi");
    assert_eq!(engine.deliver(&hook, &text, Some(APP_SECRET)).await, 200);
    let id = engine
        .caixa
        .list_conversations(ConversationFilter::default(), None, 10)
        .await
        .unwrap()
        .items[0]
        .id;

    // Without the business account ID there is nowhere to list templates from: say so.
    let err = engine.caixa.whatsapp_templates(inbox).await.unwrap_err();
    assert!(err.to_string().contains("Business Account ID"), "{err}");

    let mut settings = match view.inbox.settings.clone() {
        InboxSettings::WhatsApp(w) => w,
        other => panic!("{other:?}"),
    };
    settings.business_account_id = Some(number.business_account_id());
    engine
        .caixa
        .update_inbox(
            inbox,
            InboxInput {
                name: view.inbox.name.clone(),
                settings: InboxSettings::WhatsApp(settings),
                password: None,
                webhook_secret: None,
            },
        )
        .await
        .unwrap();
    number.add_template(
        "order_update",
        "pt_BR",
        "UTILITY",
        "APPROVED",
        "Olá {{1}}, seu pedido {{2}} foi enviado.",
    );
    number.add_template("promo", "pt_BR", "MARKETING", "PENDING", "Oferta!");
    // More than one page (the core asks for 100 per page).
    for i in 0..120 {
        number.add_template(&format!("notice_{i}"), "en_US", "UTILITY", "APPROVED", "Hi");
    }
    let templates = engine.caixa.whatsapp_templates(inbox).await.unwrap();
    assert_eq!(templates.len(), 121, "approved only, every page");
    let order = templates.iter().find(|t| t.name == "order_update").unwrap();
    assert_eq!(order.parameters, 2);
    assert_eq!(order.language, "pt_BR");
    assert_eq!(order.category, "UTILITY");

    // The window closes: free text is refused, a template goes out.
    engine
        .caixa
        .store()
        .write(|tx| {
            tx.execute(
                "UPDATE conversations SET last_incoming_at = last_incoming_at - 25 * 3600 * 1000",
                [],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    assert!(engine
        .caixa
        .send_message(id, "Ainda aí?", false, &[])
        .await
        .is_err());
    let err = engine
        .caixa
        .send_template(id, "order_update", "pt_BR", vec!["Ana".into()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("needs 2"), "{err}");
    let err = engine
        .caixa
        .send_template(id, "promo", "pt_BR", vec![])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no approved template"), "{err}");
    let sent = engine
        .caixa
        .send_template(id, "order_update", "pt_BR", vec!["Ana".into(), "42".into()])
        .await
        .unwrap();
    assert_eq!(sent.content, "Olá Ana, seu pedido 42 foi enviado.");
    wait_for("template sent", Duration::from_secs(10), || async {
        let m = engine.caixa.get_message(sent.id).await.unwrap();
        (m.delivery == Some(Delivery::Sent)).then_some(())
    })
    .await;
    let out = number.sent_messages().pop().unwrap();
    assert_eq!(out.kind, "template");
    assert_eq!(out.to, CUSTOMER);
    assert_eq!(
        out.body["template"],
        serde_json::json!({
            "name": "order_update",
            "language": {"code": "pt_BR"},
            "components": [{"type": "body", "parameters": [
                {"type": "text", "text": "Ana"},
                {"type": "text", "text": "42"}
            ]}]
        })
    );
}
