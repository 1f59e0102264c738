//! Wire-format tests of the fake X API v2 Direct Messages.

use caixa_fakes::x::{XAccount, XFake};
use caixa_fakes::Failure;
use serde_json::{json, Value};

const TOKEN: &str = "x-user-token";
const ME: &str = "2244994945";

async fn setup() -> (XFake, XAccount) {
    let fake = XFake::start().await;
    let account = fake.add_user_token(TOKEN, ME, "CaixaHelp", "Caixa Help");
    (fake, account)
}

async fn get(fake: &XFake, path_and_query: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}{path_and_query}", fake.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap())
}

#[tokio::test]
async fn unauthorized_and_me() {
    let (fake, _) = setup().await;
    let response = reqwest::get(format!("{}/2/users/me", fake.base_url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"})
    );
    let (status, headers, body) = get(&fake, "/2/users/me?user.fields=profile_image_url").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["id"], ME);
    assert_eq!(body["data"]["username"], "CaixaHelp");
    assert_eq!(body["data"]["name"], "Caixa Help");
    assert!(body["data"]["profile_image_url"].is_string());
    for header in [
        "x-rate-limit-limit",
        "x-rate-limit-remaining",
        "x-rate-limit-reset",
    ] {
        assert!(headers.contains_key(header), "{header}");
    }
}

#[tokio::test]
async fn dm_events_newest_first_with_expansions_and_pagination() {
    let (fake, account) = setup().await;
    let first = account.push_dm("1001", "ana", "Ana", "oldest");
    account.push_dm("1002", "bruno", "Bruno", "middle");
    let newest = account.push_dm_with_media("1001", "ana", "Ana", "newest with photo", "photo");
    assert!(newest.parse::<u64>().unwrap() > first.parse::<u64>().unwrap());

    let (_, _, body) = get(&fake, "/2/dm_events").await;
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    assert_eq!(
        data[0],
        json!({"id": newest, "event_type": "MessageCreate", "text": "newest with photo"})
    );
    assert_eq!(body["meta"], json!({"result_count": 3}));

    let (_, _, page1) = get(
        &fake,
        "/2/dm_events?max_results=2&dm_event.fields=id,text,sender_id,dm_conversation_id,created_at,attachments,event_type&expansions=sender_id,attachments.media_keys&user.fields=username,name&media.fields=url",
    )
    .await;
    let data = page1["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["sender_id"], "1001");
    assert_eq!(data[0]["dm_conversation_id"], format!("1001-{ME}"));
    assert!(data[0]["created_at"].as_str().unwrap().ends_with('Z'));
    let media_key = data[0]["attachments"]["media_keys"][0].as_str().unwrap();
    assert_eq!(page1["includes"]["media"][0]["media_key"], media_key);
    assert_eq!(page1["includes"]["media"][0]["type"], "photo");
    let users = page1["includes"]["users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(
        users[0],
        json!({"id": "1001", "name": "Ana", "username": "ana"})
    );
    assert_eq!(page1["meta"]["result_count"], 2);
    let next = page1["meta"]["next_token"].as_str().unwrap();
    assert!(next.len() >= 16);

    let (_, _, page2) = get(
        &fake,
        &format!("/2/dm_events?max_results=2&pagination_token={next}"),
    )
    .await;
    assert_eq!(page2["data"].as_array().unwrap().len(), 1);
    assert_eq!(page2["data"][0]["text"], "oldest");
    assert!(page2["meta"].get("next_token").is_none());
    let previous = page2["meta"]["previous_token"].as_str().unwrap();
    let (_, _, back) = get(
        &fake,
        &format!("/2/dm_events?max_results=2&pagination_token={previous}"),
    )
    .await;
    assert_eq!(back["data"][0]["text"], "newest with photo");

    let (_, _, with_bruno) = get(&fake, "/2/dm_conversations/with/1002/dm_events").await;
    assert_eq!(with_bruno["data"].as_array().unwrap().len(), 1);
    let (_, _, empty) = get(&fake, "/2/dm_conversations/with/999/dm_events").await;
    assert_eq!(empty, json!({"meta": {"result_count": 0}}));

    let (status, _, invalid) = get(&fake, "/2/dm_events?max_results=500").await;
    assert_eq!(status, 400);
    assert_eq!(invalid["title"], "Invalid Request");
    assert_eq!(
        invalid["errors"][0]["message"],
        "The `max_results` query parameter value [500] is not between 1 and 100"
    );
}

#[tokio::test]
async fn sending_creates_an_event_in_the_conversation() {
    let (fake, account) = setup().await;
    account.push_dm("1001", "ana", "Ana", "hello?");
    let client = reqwest::Client::new();
    let response = client
        .post(format!(
            "{}/2/dm_conversations/with/1001/messages",
            fake.base_url()
        ))
        .bearer_auth(TOKEN)
        .json(&json!({"text": "Hi Ana!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["dm_conversation_id"], format!("1001-{ME}"));
    let event_id = body["data"]["dm_event_id"].as_str().unwrap();

    let (_, _, events) = get(&fake, "/2/dm_events?dm_event.fields=sender_id").await;
    assert_eq!(events["data"][0]["id"], event_id);
    assert_eq!(events["data"][0]["sender_id"], ME);
    let sent = account.sent_dms();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].text.as_deref(), Some("Hi Ana!"));
    assert_eq!(sent[0].participant_id, "1001");

    let stranger = client
        .post(format!(
            "{}/2/dm_conversations/with/4242/messages",
            fake.base_url()
        ))
        .bearer_auth(TOKEN)
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 403);
    let empty = client
        .post(format!(
            "{}/2/dm_conversations/with/1001/messages",
            fake.base_url()
        ))
        .bearer_auth(TOKEN)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 400);
}

#[tokio::test]
async fn rate_limits_count_down_and_answer_429() {
    let (fake, _) = setup().await;
    let reset = 4_000_000_000;
    fake.set_rate_limit(1, reset);
    let (status, headers, _) = get(&fake, "/2/dm_events").await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-rate-limit-remaining"], "0");
    assert_eq!(headers["x-rate-limit-reset"], reset.to_string().as_str());
    assert_eq!(headers["x-rate-limit-limit"], "300");
    let (status, headers, body) = get(&fake, "/2/dm_events").await;
    assert_eq!(status, 429);
    assert_eq!(headers["x-rate-limit-remaining"], "0");
    assert_eq!(
        body,
        json!({"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429})
    );

    // A reset in the past refills the window.
    fake.set_rate_limit(0, 1);
    let (status, headers, _) = get(&fake, "/2/users/me").await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-rate-limit-remaining"], "74");

    fake.fail_next(
        "/2/users/me",
        Failure::RateLimited {
            retry_after_secs: 60,
        },
    );
    let (status, headers, _) = get(&fake, "/2/users/me").await;
    assert_eq!(status, 429);
    let reset: i64 = headers["x-rate-limit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset > 1_700_000_000);
}
