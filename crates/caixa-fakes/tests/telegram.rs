//! Wire-format tests of the fake Telegram Bot API, driven with plain reqwest the way teloxide
//! (JSON POSTs, multipart with `attach://`) and hand-written clients (GET, forms) call it.

use std::time::{Duration, Instant};

use caixa_fakes::telegram::{ChatInfo, FileSource, TelegramFake};
use caixa_fakes::Failure;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

const TOKEN: &str = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11";

fn alice() -> ChatInfo {
    ChatInfo::new(1111, "Alice")
        .with_last_name("Liddell")
        .with_username("alice")
}

async fn post_json(fake: &TelegramFake, method: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/bot{TOKEN}/{method}", fake.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn get_me_answers_any_method_casing_and_rejects_a_wrong_token() {
    let fake = TelegramFake::start().await;
    fake.new_bot(TOKEN, "caixa_test_bot");

    let (status, body) = post_json(&fake, "GetMe", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(body["ok"], true);
    assert_eq!(body["result"]["id"], 123456);
    assert_eq!(body["result"]["is_bot"], true);
    assert_eq!(body["result"]["username"], "caixa_test_bot");

    let get = reqwest::get(format!("{}/bot{TOKEN}/getme", fake.base_url()))
        .await
        .unwrap();
    assert_eq!(get.status(), 200);

    let wrong = reqwest::get(format!("{}/bot999:nope/getMe", fake.base_url()))
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        wrong.json::<Value>().await.unwrap(),
        json!({"ok": false, "error_code": 401, "description": "Unauthorized"})
    );

    let unknown = reqwest::get(format!("{}/bot{TOKEN}/noSuchMethod", fake.base_url()))
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        unknown.json::<Value>().await.unwrap(),
        json!({"ok": false, "error_code": 404, "description": "Not Found"})
    );
    // Rejected requests are recorded too.
    assert_eq!(fake.requests().len(), 4);
}

#[tokio::test]
async fn long_poll_returns_as_soon_as_an_update_is_pushed() {
    let fake = TelegramFake::start().await;
    let bot = fake.new_bot(TOKEN, "caixa_test_bot");
    let poll = tokio::spawn({
        let fake = fake.clone();
        async move {
            let started = Instant::now();
            let result = post_json(&fake, "GetUpdates", json!({"timeout": 20})).await;
            (result, started.elapsed())
        }
    });
    // Only push once the poll is really waiting on the server.
    fake.wait_for_request(|r| r.path.ends_with("/GetUpdates"), Duration::from_secs(5))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let update_id = bot.push_text(&alice(), "hello there");

    let ((status, body), elapsed) = poll.await.unwrap();
    assert_eq!(status, 200);
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    let updates = body["result"].as_array().unwrap();
    assert_eq!(updates.len(), 1);
    let update = &updates[0];
    assert_eq!(update["update_id"], update_id);
    let message = &update["message"];
    assert_eq!(message["text"], "hello there");
    assert_eq!(message["chat"]["id"], 1111);
    assert_eq!(message["chat"]["type"], "private");
    assert_eq!(message["chat"]["username"], "alice");
    assert_eq!(message["from"]["is_bot"], false);
    assert_eq!(message["from"]["last_name"], "Liddell");
    assert!(message["message_id"].as_i64().unwrap() > 0);
    assert!(message["date"].as_i64().unwrap() > 1_600_000_000);
}

#[tokio::test]
async fn long_poll_times_out_with_an_empty_result() {
    let fake = TelegramFake::start().await;
    fake.new_bot(TOKEN, "caixa_test_bot");
    let started = Instant::now();
    let url = format!("{}/bot{TOKEN}/getUpdates?timeout=1", fake.base_url());
    let body: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    assert_eq!(body, json!({"ok": true, "result": []}));
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn offset_confirms_earlier_updates_and_negative_offset_keeps_the_tail() {
    let fake = TelegramFake::start().await;
    let bot = fake.new_bot(TOKEN, "caixa_test_bot");
    let first = bot.push_text(&alice(), "one");
    let second = bot.push_text(&alice(), "two");
    let third = bot.push_text(&alice(), "three");
    assert_eq!((second, third), (first + 1, first + 2));

    // No offset: everything unconfirmed, limit respected.
    let (_, body) = post_json(&fake, "getUpdates", json!({"limit": 2})).await;
    let ids: Vec<_> = body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["update_id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(first), json!(second)]);

    // Offset given as a form field confirms everything before it.
    let response = reqwest::Client::new()
        .post(format!("{}/bot{TOKEN}/getUpdates", fake.base_url()))
        .form(&[("offset", (first + 1).to_string())])
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["result"].as_array().unwrap().len(), 2);
    assert_eq!(bot.pending_updates(), 2);

    let fourth = bot.push_text(&alice(), "four");
    let (_, body) = post_json(&fake, "getUpdates", json!({"offset": -1})).await;
    let updates = body["result"].as_array().unwrap();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0]["update_id"], fourth);
    assert_eq!(bot.pending_updates(), 1);

    let (_, body) = post_json(&fake, "getUpdates", json!({"offset": fourth + 1})).await;
    assert_eq!(body["result"], json!([]));
    assert_eq!(bot.pending_updates(), 0);
}

#[tokio::test]
async fn allowed_updates_filters_kinds_and_is_remembered() {
    let fake = TelegramFake::start().await;
    let bot = fake.new_bot(TOKEN, "caixa_test_bot");
    bot.push_update("callback_query", json!({"id": "1", "from": {"id": 1, "is_bot": false, "first_name": "A"}, "chat_instance": "x"}));
    let text = bot.push_text(&alice(), "hi");
    let (_, body) = post_json(&fake, "getUpdates", json!({"allowed_updates": ["message"]})).await;
    let updates = body["result"].as_array().unwrap();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0]["update_id"], text);
    // Form encoding carries the list JSON-serialized; the setting sticks when omitted.
    let info: Value = reqwest::get(format!("{}/bot{TOKEN}/getWebhookInfo", fake.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["result"]["allowed_updates"], json!(["message"]));
}

#[tokio::test]
async fn overlapping_get_updates_end_the_older_one_with_the_documented_conflict() {
    let fake = TelegramFake::start().await;
    fake.new_bot(TOKEN, "caixa_test_bot");
    let older = tokio::spawn({
        let fake = fake.clone();
        async move { post_json(&fake, "getUpdates", json!({"timeout": 20})).await }
    });
    fake.wait_for_request(|r| r.path.ends_with("getUpdates"), Duration::from_secs(5))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (newer_status, _) = post_json(&fake, "getUpdates", json!({"timeout": 0})).await;
    assert_eq!(newer_status, 200);
    let (status, body) = older.await.unwrap();
    assert_eq!(status, 409);
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 409, "description": "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"})
    );
}

#[tokio::test]
async fn simulated_other_instance_and_webhook_make_get_updates_409() {
    let fake = TelegramFake::start().await;
    let bot = fake.new_bot(TOKEN, "caixa_test_bot");

    bot.simulate_other_poller(true);
    let (status, body) = post_json(&fake, "getUpdates", json!({})).await;
    assert_eq!(status, 409);
    assert_eq!(body["description"], "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running");
    bot.simulate_other_poller(false);

    // A pending long poll ends with the webhook variant when a webhook gets set.
    let pending = tokio::spawn({
        let fake = fake.clone();
        async move { post_json(&fake, "getUpdates", json!({"timeout": 20})).await }
    });
    fake.wait_for_request(|r| r.body_text().contains("20"), Duration::from_secs(5))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    bot.set_webhook_active(true);
    let (status, body) = pending.await.unwrap();
    assert_eq!(status, 409);
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 409, "description": "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"})
    );
    let (_, info) = post_json(&fake, "getWebhookInfo", json!({})).await;
    assert_eq!(
        info["result"]["url"],
        "https://caixa.invalid/telegram-webhook"
    );

    let (status, body) = post_json(
        &fake,
        "deleteWebhook",
        json!({"drop_pending_updates": false}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"ok": true, "result": true, "description": "Webhook was deleted"})
    );
    let (_, body) = post_json(&fake, "deleteWebhook", json!({})).await;
    assert_eq!(body["description"], "Webhook is already deleted");
    let (status, _) = post_json(&fake, "getUpdates", json!({})).await;
    assert_eq!(status, 200);
    let (_, info) = post_json(&fake, "getWebhookInfo", json!({})).await;
    assert_eq!(info["result"]["url"], "");
    assert_eq!(info["result"]["has_custom_certificate"], false);
    assert_eq!(info["result"]["pending_update_count"], 0);
}

#[tokio::test]
async fn injected_rate_limit_has_retry_after_in_parameters() {
    let fake = TelegramFake::start().await;
    let bot = fake.new_bot(TOKEN, "caixa_test_bot");
    bot.add_chat(&alice());
    fake.fail_next(
        "sendmessage",
        Failure::RateLimited {
            retry_after_secs: 7,
        },
    );
    let (status, body) =
        post_json(&fake, "SendMessage", json!({"chat_id": 1111, "text": "x"})).await;
    assert_eq!(status, 429);
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 7", "parameters": {"retry_after": 7}})
    );
    // Only the next matching request fails.
    let (status, _) = post_json(&fake, "SendMessage", json!({"chat_id": 1111, "text": "x"})).await;
    assert_eq!(status, 200);

    fake.fail_next(
        "sendMessage",
        caixa_fakes::telegram::failures::bot_blocked(),
    );
    let (status, body) =
        post_json(&fake, "sendMessage", json!({"chat_id": 1111, "text": "x"})).await;
    assert_eq!(status, 403);
    assert_eq!(
        body["description"],
        "Forbidden: bot was blocked by the user"
    );
}

#[tokio::test]
async fn send_message_in_every_encoding_and_its_errors() {
    let fake = TelegramFake::start().await;
    let bot = fake.new_bot(TOKEN, "caixa_test_bot");

    let (status, body) =
        post_json(&fake, "sendMessage", json!({"chat_id": 1111, "text": "hi"})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"})
    );

    bot.push_text(&alice(), "hello");
    let (status, body) = post_json(
        &fake,
        "sendMessage",
        json!({"chat_id": 1111, "text": "*Hi* Alice", "parse_mode": "MarkdownV2",
               "reply_parameters": {"message_id": 1}}),
    )
    .await;
    assert_eq!(status, 200);
    let message = &body["result"];
    assert_eq!(message["text"], "*Hi* Alice");
    assert_eq!(message["from"]["is_bot"], true);
    assert_eq!(message["chat"]["id"], 1111);

    let form = reqwest::Client::new()
        .post(format!("{}/bot{TOKEN}/sendMessage", fake.base_url()))
        .form(&[("chat_id", "1111"), ("text", "form text")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    let query = reqwest::get(format!(
        "{}/bot{TOKEN}/sendMessage?chat_id=1111&text=query%20text",
        fake.base_url()
    ))
    .await
    .unwrap();
    assert_eq!(query.status(), 200);

    let (status, body) =
        post_json(&fake, "sendMessage", json!({"chat_id": 1111, "text": ""})).await;
    assert_eq!(status, 400);
    assert_eq!(body["description"], "Bad Request: message text is empty");

    let sent = bot.sent_messages();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0].method, "sendMessage");
    assert_eq!(sent[0].chat_id, 1111);
    assert_eq!(sent[0].text.as_deref(), Some("*Hi* Alice"));
    assert_eq!(sent[0].parse_mode.as_deref(), Some("MarkdownV2"));
    assert_eq!(sent[0].reply_to_message_id, Some(1));
    assert_eq!(sent[0].message_id, message["message_id"].as_i64().unwrap());
    assert_eq!(sent[1].text.as_deref(), Some("form text"));
    assert_eq!(sent[2].text.as_deref(), Some("query text"));
}

#[tokio::test]
async fn uploads_like_teloxide_and_downloads_through_get_file() {
    let fake = TelegramFake::start().await;
    let bot = fake.new_bot(TOKEN, "caixa_test_bot");
    bot.add_chat(&alice());
    let client = reqwest::Client::new();

    // teloxide: the field holds `attach://<id>` and the file travels in part `<id>`.
    let form = Form::new()
        .text("chat_id", "1111")
        .text("caption", "a photo")
        .text("photo", "attach://0f1e2d")
        .part(
            "0f1e2d",
            Part::bytes(vec![0xFF, 0xD8, 0xFF, 0x00]).file_name("pic.jpg"),
        );
    let response = client
        .post(format!("{}/bot{TOKEN}/SendPhoto", fake.base_url()))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let sizes = body["result"]["photo"].as_array().unwrap();
    assert_eq!(sizes.len(), 2);
    assert_eq!(body["result"]["caption"], "a photo");
    let largest = sizes.last().unwrap();
    assert_eq!(largest["file_size"], 4);
    assert!(largest["width"].as_i64().unwrap() > sizes[0]["width"].as_i64().unwrap());

    // Browser-style: the file is the field itself.
    let form = Form::new().text("chat_id", "1111").part(
        "document",
        Part::bytes(b"%PDF-1.4".to_vec())
            .file_name("invoice.pdf")
            .mime_str("application/pdf")
            .unwrap(),
    );
    let body: Value = client
        .post(format!("{}/bot{TOKEN}/sendDocument", fake.base_url()))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let document = &body["result"]["document"];
    assert_eq!(document["file_name"], "invoice.pdf");
    assert_eq!(document["mime_type"], "application/pdf");
    let file_id = document["file_id"].as_str().unwrap().to_owned();

    // Resending by file_id (JSON), and by URL.
    let (status, _) = post_json(
        &fake,
        "sendDocument",
        json!({"chat_id": 1111, "document": file_id}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = post_json(
        &fake,
        "sendPhoto",
        json!({"chat_id": 1111, "photo": "https://example.com/cat.jpg"}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = post_json(
        &fake,
        "sendPhoto",
        json!({"chat_id": 1111, "photo": "nonsense"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["description"],
        "Bad Request: wrong file identifier/HTTP URL specified"
    );
    let (status, body) = post_json(&fake, "sendPhoto", json!({"chat_id": 1111})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["description"],
        "Bad Request: there is no photo in the request"
    );

    let (_, file) = post_json(&fake, "getFile", json!({"file_id": file_id})).await;
    let path = file["result"]["file_path"].as_str().unwrap();
    assert!(path.starts_with("documents/"), "{path}");
    assert_eq!(file["result"]["file_size"], 8);
    let download = reqwest::get(format!("{}/file/bot{TOKEN}/{path}", fake.base_url()))
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap().as_ref(), b"%PDF-1.4");

    let sent = bot.sent_messages();
    assert_eq!(sent.len(), 4);
    assert_eq!(sent[0].method, "sendPhoto");
    assert_eq!(sent[0].text.as_deref(), Some("a photo"));
    let photo = sent[0].file.as_ref().unwrap();
    assert_eq!(photo.source, FileSource::Upload);
    assert_eq!(photo.bytes, vec![0xFF, 0xD8, 0xFF, 0x00]);
    assert_eq!(
        sent[1].file.as_ref().unwrap().file_name.as_deref(),
        Some("invoice.pdf")
    );
    assert_eq!(sent[2].file.as_ref().unwrap().source, FileSource::FileId);
    assert_eq!(sent[2].file.as_ref().unwrap().bytes, b"%PDF-1.4");
    assert_eq!(
        sent[3].file.as_ref().unwrap().source,
        FileSource::Url("https://example.com/cat.jpg".into())
    );
}

#[tokio::test]
async fn incoming_media_kinds_are_shaped_like_the_api_and_downloadable() {
    let fake = TelegramFake::start().await;
    let bot = fake.new_bot(TOKEN, "caixa_test_bot");
    bot.push_photo(&alice(), b"jpegbytes", Some("look"));
    bot.push_document(&alice(), "notes.txt", "text/plain", b"some notes", None);
    bot.push_voice(&alice(), b"OggS", 3);
    bot.push_location(&alice(), 38.7223, -9.1393);
    bot.push_sticker(&alice(), "👍");

    let (_, body) = post_json(&fake, "getUpdates", json!({})).await;
    let messages: Vec<&Value> = body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| &u["message"])
        .collect();
    assert_eq!(messages.len(), 5);

    let photo = &messages[0];
    assert_eq!(photo["caption"], "look");
    let sizes = photo["photo"].as_array().unwrap();
    for size in sizes {
        for field in ["file_id", "file_unique_id", "width", "height", "file_size"] {
            assert!(!size[field].is_null(), "{field} missing in {size}");
        }
    }
    let document = &messages[1]["document"];
    assert_eq!(document["file_name"], "notes.txt");
    assert_eq!(document["mime_type"], "text/plain");
    assert_eq!(document["file_size"], 10);
    assert_eq!(messages[2]["voice"]["duration"], 3);
    assert_eq!(messages[2]["voice"]["mime_type"], "audio/ogg");
    assert_eq!(
        messages[3]["location"],
        json!({"latitude": 38.7223, "longitude": -9.1393})
    );
    assert_eq!(messages[4]["sticker"]["emoji"], "👍");
    assert!(messages[4].get("text").is_none());

    // The largest photo size downloads as the pushed bytes.
    let file_id = sizes.last().unwrap()["file_id"].as_str().unwrap();
    let (_, file) = post_json(&fake, "getFile", json!({"file_id": file_id})).await;
    let path = file["result"]["file_path"].as_str().unwrap();
    let bytes = reqwest::get(format!("{}/file/bot{TOKEN}/{path}", fake.base_url()))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), b"jpegbytes");

    let (status, body) = post_json(&fake, "getFile", json!({"file_id": "nope"})).await;
    assert_eq!(status, 400);
    assert_eq!(body["description"], "Bad Request: invalid file_id");
    let missing = reqwest::get(format!(
        "{}/file/bot{TOKEN}/photos/none.jpg",
        fake.base_url()
    ))
    .await
    .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn malformed_bodies_get_telegram_errors_not_panics() {
    let fake = TelegramFake::start().await;
    fake.new_bot(TOKEN, "caixa_test_bot");
    let client = reqwest::Client::new();
    let url = format!("{}/bot{TOKEN}/sendMessage", fake.base_url());
    let bad_json = client
        .post(&url)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status(), 400);
    assert_eq!(bad_json.json::<Value>().await.unwrap()["ok"], false);
    let bad_multipart = client
        .post(&url)
        .header("content-type", "multipart/form-data; boundary=zzz")
        .body("garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_multipart.status(), 400);
    // The server is still alive.
    let (status, _) = post_json(&fake, "getMe", json!({})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn dropping_the_fake_stops_the_server() {
    let fake = TelegramFake::start().await;
    fake.new_bot(TOKEN, "caixa_test_bot");
    let url = format!("{}/bot{TOKEN}/getMe", fake.base_url());
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 200);
    drop(fake);
    tokio::time::sleep(Duration::from_millis(100)).await;
    // A fresh client: a pooled keep-alive connection would not tell us about the listener.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    assert!(client.get(&url).send().await.is_err());
}
