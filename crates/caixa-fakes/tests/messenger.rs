//! Wire-format tests of the fake Messenger / Instagram Graph API.

use std::time::Duration;

use caixa_fakes::messenger::{self, MessengerFake, MessengerPage, Platform};
use caixa_fakes::Failure;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

const PAGE: &str = "1122334455";
const TOKEN: &str = "EAAPageToken";
const IG: &str = "17841400000000000";

async fn setup() -> (MessengerFake, MessengerPage) {
    let fake = MessengerFake::start().await;
    let page = fake.add_page(PAGE, "Caixa Café", TOKEN);
    page.link_instagram(IG, "caixa.cafe");
    (fake, page)
}

async fn get(fake: &MessengerFake, path_and_query: &str) -> (u16, Value) {
    let url = if path_and_query.starts_with("http") {
        path_and_query.to_owned()
    } else {
        format!("{}{path_and_query}", fake.base_url())
    };
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn send(fake: &MessengerFake, path: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}?access_token={TOKEN}", fake.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn conversations_page_with_cursors_and_expand_messages() {
    let (fake, page) = setup().await;
    for (psid, name) in [("9001", "Ana"), ("9002", "Bruno"), ("9003", "Carla")] {
        page.push_incoming(
            Platform::Messenger,
            psid,
            name,
            &format!("olá from {name}"),
            vec![],
        );
    }
    page.push_incoming(
        Platform::Instagram,
        "5501",
        "dora.ig",
        "hi on insta",
        vec![],
    );

    let (status, first) = get(
        &fake,
        &format!("/v21.0/{PAGE}/conversations?platform=messenger&limit=2"),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    let data = first["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    let mut keys: Vec<_> = data[0].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, vec!["id", "updated_time"]);
    assert!(data[0]["id"].as_str().unwrap().starts_with("t_"));
    assert!(data[0]["updated_time"].as_str().unwrap().ends_with("+0000"));
    assert!(first["paging"]["cursors"]["before"].is_string());
    let next = first["paging"]["next"].as_str().unwrap();
    assert!(next.contains("after="), "{next}");
    let (_, second) = get(&fake, next).await;
    assert_eq!(second["data"].as_array().unwrap().len(), 1);
    assert!(second["paging"].get("next").is_none());
    assert!(second["paging"]["previous"].is_string());

    let (_, ig) = get(
        &fake,
        &format!("/v21.0/{PAGE}/conversations?platform=instagram&fields=participants,messages{{message,from,created_time}}"),
    )
    .await;
    let conversation = &ig["data"][0];
    assert_eq!(
        conversation["participants"]["data"][0],
        json!({"username": "dora.ig", "id": "5501"})
    );
    assert_eq!(
        conversation["participants"]["data"][1],
        json!({"username": "caixa.cafe", "id": IG})
    );
    let message = &conversation["messages"]["data"][0];
    assert_eq!(message["message"], "hi on insta");
    assert_eq!(message["from"]["id"], "5501");

    // The newest Messenger conversation is Carla's; read it through the messages edge.
    let carla = data[0]["id"].as_str().unwrap();
    let (_, messages) = get(
        &fake,
        &format!("/v21.0/{carla}/messages?fields=message,from,to,created_time"),
    )
    .await;
    let m = &messages["data"][0];
    assert_eq!(m["message"], "olá from Carla");
    assert_eq!(
        m["from"],
        json!({"name": "Carla", "email": "9003@facebook.com", "id": "9003"})
    );
    assert_eq!(m["to"]["data"][0]["id"], PAGE);
    let (_, one) = get(
        &fake,
        &format!("/v21.0/{}?fields=id,message", m_id(&messages)),
    )
    .await;
    assert_eq!(one["message"], "olá from Carla");
    let (_, filtered) = get(
        &fake,
        &format!("/v21.0/{PAGE}/conversations?platform=messenger&user_id=9002"),
    )
    .await;
    assert_eq!(filtered["data"].as_array().unwrap().len(), 1);
}

fn m_id(messages: &Value) -> String {
    messages["data"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn attachments_are_listed_and_downloadable() {
    let (fake, page) = setup().await;
    let mid = page.push_incoming(
        Platform::Messenger,
        "9001",
        "Ana",
        "",
        vec![
            ("image/png".into(), b"PNGDATA".to_vec()),
            ("application/pdf".into(), b"%PDF".to_vec()),
        ],
    );
    let (_, message) = get(&fake, &format!("/v21.0/{mid}?fields=attachments")).await;
    let attachments = message["attachments"]["data"].as_array().unwrap();
    assert_eq!(attachments.len(), 2);
    assert_eq!(attachments[0]["mime_type"], "image/png");
    let url = attachments[0]["image_data"]["url"].as_str().unwrap();
    assert_eq!(
        reqwest::get(url)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .as_ref(),
        b"PNGDATA"
    );
    let file_url = attachments[1]["file_url"].as_str().unwrap();
    assert_eq!(
        reqwest::get(file_url)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .as_ref(),
        b"%PDF"
    );

    let webhook = page.webhook_for(&mid).unwrap();
    let event = &webhook["entry"][0]["messaging"][0];
    assert_eq!(webhook["object"], "page");
    assert_eq!(event["message"]["attachments"][0]["type"], "image");
    assert_eq!(event["message"]["attachments"][1]["type"], "file");
    assert_eq!(event["message"]["attachments"][0]["payload"]["url"], url);
}

#[tokio::test]
async fn send_api_window_rules_and_errors() {
    let (fake, page) = setup().await;
    page.push_incoming(Platform::Messenger, "9001", "Ana", "help?", vec![]);

    let (status, body) = send(
        &fake,
        &format!("/v21.0/{PAGE}/messages"),
        json!({"recipient": {"id": "9001"}, "messaging_type": "RESPONSE", "message": {"text": "Sure!"}}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["recipient_id"], "9001");
    assert!(body["message_id"].as_str().unwrap().starts_with("m_"));
    assert_eq!(body.as_object().unwrap().len(), 2);

    let (status, body) = send(
        &fake,
        "/v21.0/me/messages",
        json!({"recipient": {"id": "404"}, "message": {"text": "x"}}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], 100);
    assert_eq!(body["error"]["error_subcode"], 2018001);

    page.set_last_inbound_age("9001", Duration::from_secs(25 * 3600));
    let (status, body) = send(&fake, "/v21.0/me/messages", json!({"recipient": {"id": "9001"}, "messaging_type": "RESPONSE", "message": {"text": "late"}})).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], 10);
    assert_eq!(body["error"]["error_subcode"], 2018278);
    assert_eq!(body["error"]["type"], "OAuthException");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("(#10) This message is sent outside of allowed window."));
    let (status, _) = send(
        &fake,
        "/v21.0/me/messages",
        json!({"recipient": {"id": "9001"}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT", "message": {"text": "agent here"}}),
    )
    .await;
    assert_eq!(status, 200);
    page.set_last_inbound_age("9001", Duration::from_secs(8 * 24 * 3600));
    let (status, _) = send(
        &fake,
        "/v21.0/me/messages",
        json!({"recipient": {"id": "9001"}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT", "message": {"text": "too late"}}),
    )
    .await;
    assert_eq!(status, 400);

    let sent = page.sent_messages();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].text.as_deref(), Some("Sure!"));
    assert_eq!(sent[1].messaging_type, "MESSAGE_TAG");
    assert_eq!(sent[1].tag.as_deref(), Some("HUMAN_AGENT"));
}

#[tokio::test]
async fn instagram_sends_attachments_and_uploads() {
    let (fake, page) = setup().await;
    let webhook = page.webhook_text(Platform::Instagram, "5501", "dora.ig", "oi");
    assert_eq!(webhook["object"], "instagram");
    assert_eq!(webhook["entry"][0]["id"], IG);
    let event = &webhook["entry"][0]["messaging"][0];
    assert_eq!(event["sender"]["id"], "5501");
    assert_eq!(event["recipient"]["id"], IG);
    assert_eq!(event["message"]["text"], "oi");
    assert!(event["timestamp"].as_i64().unwrap() > 1_600_000_000_000);

    let (status, body) = send(
        &fake,
        &format!("/v21.0/{IG}/messages"),
        json!({"recipient": {"id": "5501"}, "message": {"attachment": {"type": "image", "payload": {"url": "https://example.com/cat.jpg"}}}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let form = Form::new()
        .text("recipient", r#"{"id":"5501"}"#)
        .text(
            "message",
            r#"{"attachment":{"type":"file","payload":{"is_reusable":false}}}"#,
        )
        .part(
            "filedata",
            Part::bytes(b"hello".to_vec())
                .file_name("hello.txt")
                .mime_str("text/plain")
                .unwrap(),
        );
    let response = reqwest::Client::new()
        .post(format!("{}/v21.0/me/messages", fake.base_url()))
        .bearer_auth(TOKEN)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let sent = page.sent_messages();
    assert_eq!(sent[0].platform, Platform::Instagram);
    assert_eq!(
        sent[0].attachment.as_ref().unwrap()["payload"]["url"],
        "https://example.com/cat.jpg"
    );
    assert_eq!(sent[1].upload.as_deref(), Some(&b"hello"[..]));
    assert!(sent[1].attachment.as_ref().unwrap()["payload"]["attachment_id"].is_string());
}

#[tokio::test]
async fn tokens_usage_headers_and_rate_limits() {
    let (fake, _) = setup().await;
    fake.set_usage(42, 0);
    let response = reqwest::get(format!("{}/v21.0/{PAGE}", fake.base_url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().contains_key("x-app-usage"));
    let response = reqwest::get(format!("{}/v21.0/{PAGE}?access_token=bad", fake.base_url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let (status, body) = get(&fake, &format!("/v21.0/{PAGE}")).await;
    assert_eq!(
        (status, body),
        (200, json!({"name": "Caixa Café", "id": PAGE}))
    );
    let response = reqwest::Client::new()
        .get(format!("{}/v21.0/{PAGE}", fake.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let app: Value =
        serde_json::from_str(response.headers()["x-app-usage"].to_str().unwrap()).unwrap();
    assert_eq!(
        app,
        json!({"call_count": 42, "total_cputime": 42, "total_time": 42})
    );

    fake.fail_next(
        "/messages",
        Failure::RateLimited {
            retry_after_secs: 90,
        },
    );
    let response = reqwest::Client::new()
        .post(format!(
            "{}/v21.0/me/messages?access_token={TOKEN}",
            fake.base_url()
        ))
        .json(&json!({"recipient": {"id": "1"}, "message": {"text": "x"}}))
        .send()
        .await
        .unwrap();
    let buc: Value = serde_json::from_str(
        response.headers()["x-business-use-case-usage"]
            .to_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(buc[PAGE][0]["estimated_time_to_regain_access"], 2);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], 613);
    fake.fail_next("/messages", messenger::failures::page_rate_limit());
    let (_, body) = send(
        &fake,
        "/v21.0/me/messages",
        json!({"recipient": {"id": "1"}, "message": {"text": "x"}}),
    )
    .await;
    assert_eq!(body["error"]["code"], 32);
    assert!(messenger::sign("secret", b"{}").starts_with("sha256="));
}
