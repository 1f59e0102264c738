//! Wire-format tests of the fake WhatsApp Cloud API.

use caixa_fakes::whatsapp::{self, failures, WhatsAppFake, WhatsAppNumber};
use caixa_fakes::Failure;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

const TOKEN: &str = "EAAGm0PX4ZCpsBAtoken";
const PHONE_ID: &str = "106540352242922";
const CUSTOMER: &str = "16505551234";

async fn setup() -> (WhatsAppFake, WhatsAppNumber) {
    let fake = WhatsAppFake::start().await;
    let number = fake.add_phone_number(PHONE_ID, "+1 555-078-3881", "Caixa Support", TOKEN);
    (fake, number)
}

async fn send(fake: &WhatsAppFake, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/v21.0/{PHONE_ID}/messages", fake.base_url()))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn tokens_are_checked_with_graph_errors() {
    let (fake, _) = setup().await;
    let url = format!("{}/v21.0/{PHONE_ID}", fake.base_url());
    let missing = reqwest::get(&url).await.unwrap();
    assert_eq!(missing.status(), 400);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], 104);
    assert_eq!(body["error"]["type"], "OAuthException");

    let wrong = reqwest::Client::new()
        .get(&url)
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error"]["code"], 190);
    assert_eq!(body["error"]["type"], "OAuthException");
    assert!(body["error"]["fbtrace_id"].is_string());
    assert_eq!(body["error"].as_object().unwrap().len(), 4, "{body}");

    let number: Value = reqwest::Client::new()
        .get(format!("{url}?fields=verified_name,display_phone_number"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        number,
        json!({"verified_name": "Caixa Support", "display_phone_number": "+1 555-078-3881", "id": PHONE_ID})
    );
    // Unversioned paths and the access_token parameter work too.
    let unversioned = reqwest::get(format!(
        "{}/{PHONE_ID}?access_token={TOKEN}",
        fake.base_url()
    ))
    .await
    .unwrap();
    assert_eq!(unversioned.status(), 200);
    let unknown: Value = reqwest::Client::new()
        .get(format!("{}/v21.0/999", fake.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unknown["error"]["code"], 100);
    assert_eq!(unknown["error"]["error_subcode"], 33);
}

#[tokio::test]
async fn replies_in_the_window_and_the_status_webhook_after_it_closed() {
    let (fake, number) = setup().await;
    let inbound = number.webhook_text(CUSTOMER, "Sheena Nelson", "Does it come in blue?");
    let value = &inbound["entry"][0]["changes"][0]["value"];
    assert_eq!(inbound["object"], "whatsapp_business_account");
    assert_eq!(inbound["entry"][0]["changes"][0]["field"], "messages");
    assert_eq!(value["messaging_product"], "whatsapp");
    assert_eq!(
        value["metadata"],
        json!({"display_phone_number": "15550783881", "phone_number_id": PHONE_ID})
    );
    assert_eq!(
        value["contacts"][0],
        json!({"profile": {"name": "Sheena Nelson"}, "wa_id": CUSTOMER})
    );
    let message = &value["messages"][0];
    assert_eq!(message["from"], CUSTOMER);
    assert_eq!(message["type"], "text");
    assert_eq!(message["text"]["body"], "Does it come in blue?");
    assert!(message["id"].as_str().unwrap().starts_with("wamid."));
    assert!(message["timestamp"].is_string());

    let (status, body) = send(
        &fake,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+1 650-555-1234",
               "type": "text", "text": {"preview_url": false, "body": "Yes it does"}}),
    )
    .await;
    assert_eq!(status, 200);
    let id = body["messages"][0]["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("wamid."));
    assert_eq!(
        body,
        json!({"messaging_product": "whatsapp",
               "contacts": [{"input": "+1 650-555-1234", "wa_id": CUSTOMER}],
               "messages": [{"id": id}]})
    );

    number.expire_window(CUSTOMER);
    let (status, body) = send(
        &fake,
        json!({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text", "text": {"body": "late"}}),
    )
    .await;
    assert_eq!(status, 200, "accepted, failing later like the real API");
    let late = body["messages"][0]["id"].as_str().unwrap().to_owned();
    let (_, template) = send(
        &fake,
        json!({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "template",
               "template": {"name": "hello_world", "language": {"code": "en_US"}}}),
    )
    .await;
    assert_eq!(template["messages"][0]["message_status"], "accepted");

    let sent = number.sent_messages();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0].text.as_deref(), Some("Yes it does"));
    assert!(sent[0].within_window);
    assert!(!sent[1].within_window);
    assert!(sent[2].within_window, "templates may always be sent");

    let failed = number.webhook_status(&late, "failed");
    let status = &failed["entry"][0]["changes"][0]["value"]["statuses"][0];
    assert_eq!(status["id"], late.as_str());
    assert_eq!(status["status"], "failed");
    assert_eq!(status["recipient_id"], CUSTOMER);
    assert_eq!(status["errors"][0]["code"], 131047);
    assert_eq!(status["errors"][0]["title"], "Re-engagement message");
    let delivered = number.webhook_status(&id, "delivered");
    let status = &delivered["entry"][0]["changes"][0]["value"]["statuses"][0];
    assert_eq!(status["status"], "delivered");
    assert_eq!(status["conversation"]["origin"]["type"], "service");

    let (status, body) = send(
        &fake,
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": message["id"]}),
    )
    .await;
    assert_eq!((status, body), (200, json!({"success": true})));
}

#[tokio::test]
async fn invalid_sends_get_graph_errors() {
    let (fake, _) = setup().await;
    for (body, code) in [
        (
            json!({"to": CUSTOMER, "type": "text", "text": {"body": "x"}}),
            100,
        ),
        (
            json!({"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}),
            100,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text", "text": {}}),
            100,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "image", "image": {"id": "404"}}),
            131053,
        ),
        (
            json!({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "hologram"}),
            131009,
        ),
    ] {
        let (status, response) = send(&fake, body).await;
        assert_eq!(status, 400, "{response}");
        assert_eq!(response["error"]["code"], code, "{response}");
    }
}

#[tokio::test]
async fn media_upload_lookup_and_authenticated_download() {
    let (fake, number) = setup().await;
    let client = reqwest::Client::new();
    let form = Form::new()
        .text("messaging_product", "whatsapp")
        .text("type", "image/png")
        .part(
            "file",
            Part::bytes(b"\x89PNG....".to_vec())
                .file_name("logo.png")
                .mime_str("image/png")
                .unwrap(),
        );
    let uploaded: Value = client
        .post(format!("{}/v21.0/{PHONE_ID}/media", fake.base_url()))
        .bearer_auth(TOKEN)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let media_id = uploaded["id"].as_str().unwrap().to_owned();
    assert!(media_id.bytes().all(|b| b.is_ascii_digit()));

    let (status, _) = send(
        &fake,
        json!({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "image", "image": {"id": media_id, "caption": "logo"}}),
    )
    .await;
    assert_eq!(status, 200);

    // A customer's image from a webhook can be fetched the same way.
    let webhook = number.webhook_image(
        CUSTOMER,
        "Sheena",
        "image/jpeg",
        b"JPEGDATA",
        Some("receipt"),
    );
    let image = &webhook["entry"][0]["changes"][0]["value"]["messages"][0]["image"];
    assert_eq!(image["caption"], "receipt");
    let id = image["id"].as_str().unwrap();
    let info: Value = client
        .get(format!(
            "{}/v21.0/{id}?phone_number_id={PHONE_ID}",
            fake.base_url()
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["messaging_product"], "whatsapp");
    assert_eq!(info["mime_type"], "image/jpeg");
    assert_eq!(info["file_size"], 8);
    assert_eq!(info["id"], id);
    assert_eq!(info["sha256"], image["sha256"]);
    let url = info["url"].as_str().unwrap();
    assert!(
        url.contains("/whatsapp_business/attachments/?mid="),
        "{url}"
    );
    assert_eq!(
        reqwest::get(url).await.unwrap().status(),
        400,
        "a bearer token is required"
    );
    let bytes = client
        .get(url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), b"JPEGDATA");

    let deleted: Value = client
        .delete(format!("{}/v21.0/{media_id}", fake.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(deleted, json!({"success": true}));
}

#[tokio::test]
async fn rate_limits_and_signatures() {
    let (fake, number) = setup().await;
    fake.fail_next(
        "/messages",
        Failure::RateLimited {
            retry_after_secs: 3,
        },
    );
    let (status, body) = send(
        &fake,
        json!({"messaging_product": "whatsapp", "to": CUSTOMER, "text": {"body": "x"}}),
    )
    .await;
    assert_eq!(status, 429);
    assert_eq!(body["error"]["code"], 130429);
    assert_eq!(body["error"]["message"], "(#130429) Rate limit hit");
    assert_eq!(body["error"]["error_data"]["messaging_product"], "whatsapp");
    fake.fail_next("/messages", failures::pair_rate_limit());
    let (_, body) = send(
        &fake,
        json!({"messaging_product": "whatsapp", "to": CUSTOMER, "text": {"body": "x"}}),
    )
    .await;
    assert_eq!(body["error"]["code"], 131056);
    fake.fail_next("/messages", failures::reengagement());
    let (status, body) = send(
        &fake,
        json!({"messaging_product": "whatsapp", "to": CUSTOMER, "text": {"body": "x"}}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], 131047);

    let body = serde_json::to_vec(&number.webhook_text(CUSTOMER, "S", "hi")).unwrap();
    let signature = whatsapp::sign("app-secret", &body);
    assert!(signature.starts_with("sha256="));
    assert_eq!(signature.len(), 7 + 64);
    assert_eq!(
        whatsapp::verify_challenge_params("my-verify-token", "1158201444"),
        vec![
            ("hub.mode".to_string(), "subscribe".to_string()),
            ("hub.challenge".to_string(), "1158201444".to_string()),
            (
                "hub.verify_token".to_string(),
                "my-verify-token".to_string()
            ),
        ]
    );
}
