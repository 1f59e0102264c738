//! Wire-format tests of the fake LINE Messaging API.

use caixa_fakes::line::{self, LineChannel, LineFake};
use caixa_fakes::Failure;
use serde_json::{json, Value};

const TOKEN: &str = "line-channel-access-token";
const BOT: &str = "Ub9952f8a1c2d3e4f5a6b7c8d9e0f1a2b";
const USER: &str = "U4af4980629a1b2c3d4e5f6a7b8c9d0e1";

async fn setup() -> (LineFake, LineChannel) {
    let fake = LineFake::start().await;
    let channel = fake.add_channel(TOKEN, BOT, "Caixa Support");
    (fake, channel)
}

async fn post(fake: &LineFake, path: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", fake.base_url()))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("x-line-request-id"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn get(fake: &LineFake, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}{path}", fake.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
}

#[test]
fn signature_is_base64_hmac_sha256_of_the_body() {
    // Recomputed independently with Python: base64(hmac(sha256, secret, body)).
    assert_eq!(
        line::sign("channel-secret-123", br#"{"destination":"U0","events":[]}"#),
        "FTBEAu/+28nQNWX8v9RxzhAtB27GXSGTOVKemY/r/xA="
    );
}

#[tokio::test]
async fn auth_errors_use_line_messages() {
    let (fake, _) = setup().await;
    let none = reqwest::get(format!("{}/v2/bot/info", fake.base_url()))
        .await
        .unwrap();
    assert_eq!(none.status(), 401);
    assert!(none.headers().contains_key("x-line-request-id"));
    assert_eq!(
        none.json::<Value>().await.unwrap(),
        json!({"message": "Authorization header required. Must follow the scheme, 'Authorization: Bearer <ACCESS TOKEN>'"})
    );
    let wrong = reqwest::Client::new()
        .get(format!("{}/v2/bot/info", fake.base_url()))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        wrong.json::<Value>().await.unwrap(),
        json!({"message": "Authentication failed. Confirm that the access token in the authorization header is valid."})
    );
    let info: Value = get(&fake, "/v2/bot/info").await.json().await.unwrap();
    assert_eq!(info["userId"], BOT);
    assert_eq!(info["displayName"], "Caixa Support");
    assert!(info["basicId"].as_str().unwrap().starts_with('@'));
    assert_eq!(info["chatMode"], "chat");
}

#[tokio::test]
async fn webhook_reply_token_works_once() {
    let (fake, channel) = setup().await;
    let webhook = channel.webhook_text(USER, "Hello, world");
    assert_eq!(webhook["destination"], BOT);
    let event = &webhook["events"][0];
    assert_eq!(event["type"], "message");
    assert_eq!(event["mode"], "active");
    assert_eq!(event["message"]["type"], "text");
    assert_eq!(event["message"]["text"], "Hello, world");
    assert!(event["message"]["quoteToken"].is_string());
    assert_eq!(event["source"], json!({"type": "user", "userId": USER}));
    assert_eq!(event["deliveryContext"]["isRedelivery"], false);
    assert_eq!(event["webhookEventId"].as_str().unwrap().len(), 26);
    assert!(event["timestamp"].as_i64().unwrap() > 1_600_000_000_000);
    assert_eq!(
        line::redelivery(&webhook)["events"][0]["deliveryContext"]["isRedelivery"],
        true
    );

    let token = event["replyToken"].as_str().unwrap();
    let reply = json!({"replyToken": token, "messages": [{"type": "text", "text": "Hi!"}, {"type": "image", "originalContentUrl": "https://e.x/a.jpg", "previewImageUrl": "https://e.x/p.jpg"}]});
    let (status, body) = post(&fake, "/v2/bot/message/reply", reply.clone()).await;
    assert_eq!(status, 200);
    let sent = body["sentMessages"].as_array().unwrap();
    assert_eq!(sent.len(), 2);
    assert!(sent[0]["id"]
        .as_str()
        .unwrap()
        .bytes()
        .all(|b| b.is_ascii_digit()));
    assert!(sent[0]["quoteToken"].is_string());
    let (status, body) = post(&fake, "/v2/bot/message/reply", reply).await;
    assert_eq!(
        (status, body),
        (400, json!({"message": "Invalid reply token"}))
    );

    let log = channel.sent_messages();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].kind, "reply");
    assert_eq!(log[0].to, USER);
    assert_eq!(log[0].messages[0]["text"], "Hi!");
}

#[tokio::test]
async fn push_validation_retry_keys_and_unknown_users() {
    let (fake, channel) = setup().await;
    channel.add_user(USER, "LINE taro");
    let (status, body) = post(
        &fake,
        "/v2/bot/message/push",
        json!({"to": USER, "messages": [{"type": "text"}]}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"message": "The request body has 1 error(s)",
               "details": [{"message": "must be specified", "property": "messages[0].text"}]})
    );
    let (status, body) = post(
        &fake,
        "/v2/bot/message/push",
        json!({"to": "Uunknown", "messages": [{"type": "text", "text": "x"}]}),
    )
    .await;
    assert_eq!(
        (status, body),
        (400, json!({"message": "Failed to send messages"}))
    );

    let client = reqwest::Client::new();
    let push = || {
        client
            .post(format!("{}/v2/bot/message/push", fake.base_url()))
            .bearer_auth(TOKEN)
            .header("X-Line-Retry-Key", "123e4567-e89b-12d3-a456-426614174000")
            .json(&json!({"to": USER, "messages": [{"type": "text", "text": "Hello"}]}))
    };
    let first = push().send().await.unwrap();
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    let again = push().send().await.unwrap();
    assert_eq!(again.status(), 409);
    assert!(again.headers().contains_key("x-line-accepted-request-id"));
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["message"], "The retry key is already accepted");
    assert_eq!(
        again["sentMessages"][0]["id"],
        first["sentMessages"][0]["id"]
    );
    assert_eq!(channel.sent_messages().len(), 1);

    let profile: Value = get(&fake, &format!("/v2/bot/profile/{USER}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(profile["displayName"], "LINE taro");
    assert_eq!(profile["userId"], USER);
    let missing = get(&fake, "/v2/bot/profile/Unobody").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.json::<Value>().await.unwrap(),
        json!({"message": "Not found"})
    );
}

#[tokio::test]
async fn content_of_media_events_and_injected_limits() {
    let (fake, channel) = setup().await;
    let image = channel.webhook_image(USER, "image/jpeg", b"JPEG");
    let id = image["events"][0]["message"]["id"].as_str().unwrap();
    assert_eq!(
        image["events"][0]["message"]["contentProvider"]["type"],
        "line"
    );
    let content = get(&fake, &format!("/v2/bot/message/{id}/content")).await;
    assert_eq!(content.headers()["content-type"], "image/jpeg");
    assert_eq!(content.bytes().await.unwrap().as_ref(), b"JPEG");
    let file = channel.webhook_file(USER, "report.pdf", b"%PDF-1");
    assert_eq!(file["events"][0]["message"]["fileName"], "report.pdf");
    assert_eq!(file["events"][0]["message"]["fileSize"], 6);
    let location = channel.webhook_location(USER, "Office", "Tokyo", 35.65, 139.70);
    assert_eq!(location["events"][0]["message"]["latitude"], 35.65);
    let sticker = channel.webhook_sticker(USER, "11537", "52002734");
    assert_eq!(sticker["events"][0]["message"]["stickerId"], "52002734");

    fake.fail_next(
        "/v2/bot/message/push",
        Failure::RateLimited {
            retry_after_secs: 1,
        },
    );
    let (status, body) = post(
        &fake,
        "/v2/bot/message/push",
        json!({"to": USER, "messages": [{"type": "text", "text": "x"}]}),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            429,
            json!({"message": "The API rate limit has been exceeded. Try again later."})
        )
    );
    fake.fail_next("push", line::failures::monthly_limit());
    let (status, body) = post(
        &fake,
        "/v2/bot/message/push",
        json!({"to": USER, "messages": [{"type": "text", "text": "x"}]}),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            429,
            json!({"message": "You have reached your monthly limit."})
        )
    );
}
