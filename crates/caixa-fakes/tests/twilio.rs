//! Wire-format tests of the fake Twilio Messages API.

use std::time::Duration;

use caixa_fakes::twilio::{sign_webhook, TwilioFake};
use caixa_fakes::Failure;
use serde_json::{json, Value};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "auth-token-0123";

/// Form fields of a create request.
type Form<'a> = &'a [(&'a str, &'a str)];

fn messages_url(fake: &TwilioFake) -> String {
    format!(
        "{}/2010-04-01/Accounts/{SID}/Messages.json",
        fake.base_url()
    )
}

async fn get(fake: &TwilioFake, path_and_query: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}{path_and_query}", fake.base_url()))
        .basic_auth(SID, Some(TOKEN))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn create(fake: &TwilioFake, form: &[(&str, &str)]) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(messages_url(fake))
        .basic_auth(SID, Some(TOKEN))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[test]
fn signature_matches_twilios_documented_example() {
    // https://www.twilio.com/docs/usage/webhooks/webhooks-security: auth token 12345, this URL
    // and these parameters sign to 0/KCTR6DLpKmkAf8muzZqo1nDgQ= (also recomputed with
    // Python's hmac module while writing this test).
    let params: Vec<(String, String)> = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    assert_eq!(
        sign_webhook("12345", url, &params),
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    );
    // Order of the given parameters does not matter; their values do.
    let mut reversed = params.clone();
    reversed.reverse();
    assert_eq!(
        sign_webhook("12345", url, &reversed),
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    );
    reversed[0].1 = "+18005551213".into();
    assert_ne!(
        sign_webhook("12345", url, &reversed),
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    );
}

#[tokio::test]
async fn bad_credentials_get_the_20003_body() {
    let fake = TwilioFake::start().await;
    fake.add_account(SID, TOKEN);
    let client = reqwest::Client::new();
    for request in [
        client.get(messages_url(&fake)),
        client
            .get(messages_url(&fake))
            .basic_auth(SID, Some("wrong")),
        client
            .get(messages_url(&fake))
            .basic_auth("ACother", Some(TOKEN)),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert!(response.headers().contains_key("www-authenticate"));
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"code": 20003, "message": "Authenticate",
                   "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401})
        );
    }
}

#[tokio::test]
async fn create_answers_201_with_the_message_resource() {
    let fake = TwilioFake::start().await;
    let account = fake.add_account(SID, TOKEN);
    let (status, body) = create(
        &fake,
        &[
            ("To", "+15558675310"),
            ("From", "+15017122661"),
            ("Body", "Hi there"),
        ],
    )
    .await;
    assert_eq!(status, 201);
    let sid = body["sid"].as_str().unwrap();
    assert_eq!(sid.len(), 34);
    assert!(sid.starts_with("SM"));
    assert_eq!(body["status"], "queued");
    assert_eq!(body["direction"], "outbound-api");
    assert_eq!(body["num_media"], "0");
    assert_eq!(body["num_segments"], "1");
    assert_eq!(body["api_version"], "2010-04-01");
    assert_eq!(body["account_sid"], SID);
    assert_eq!(body["date_sent"], Value::Null);
    assert_eq!(body["price"], Value::Null);
    assert!(body["date_created"].as_str().unwrap().ends_with(" +0000"));
    assert_eq!(
        body["uri"],
        format!("/2010-04-01/Accounts/{SID}/Messages/{sid}.json")
    );
    assert_eq!(
        body["subresource_uris"]["media"],
        format!("/2010-04-01/Accounts/{SID}/Messages/{sid}/Media.json")
    );

    // MMS with two media URLs, and WhatsApp.
    let (status, body) = create(
        &fake,
        &[
            ("To", "+15558675310"),
            ("From", "+15017122661"),
            ("MediaUrl", "https://example.com/a.jpg"),
            ("MediaUrl", "https://example.com/b.png"),
        ],
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(body["num_media"], "2");
    let (status, _) = create(
        &fake,
        &[
            ("To", "whatsapp:+15558675310"),
            ("From", "whatsapp:+14155238886"),
            ("Body", "hola"),
        ],
    )
    .await;
    assert_eq!(status, 201);

    let sent = account.sent_messages();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0].body, "Hi there");
    assert_eq!(
        sent[1].media_urls,
        vec!["https://example.com/a.jpg", "https://example.com/b.png"]
    );
    assert_eq!(sent[2].to, "whatsapp:+15558675310");

    // Later reads see the message moved on to `sent`.
    let (status, fetched) = get(
        &fake,
        &format!("/2010-04-01/Accounts/{SID}/Messages/{}.json", sent[0].sid),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(fetched["status"], "sent");
    assert!(fetched["date_sent"].is_string());
}

#[tokio::test]
async fn create_validation_errors_use_twilio_codes() {
    let fake = TwilioFake::start().await;
    fake.add_account(SID, TOKEN);
    let cases: [(Form, i64, &str); 4] = [
        (
            &[("From", "+15017122661"), ("Body", "x")],
            21604,
            "A 'To' phone number is required.",
        ),
        (
            &[("To", "+15558675310"), ("Body", "x")],
            21603,
            "A 'From' phone number is required.",
        ),
        (
            &[("To", "+15558675310"), ("From", "+15017122661")],
            21602,
            "Message body is required.",
        ),
        (
            &[("To", "12"), ("From", "+15017122661"), ("Body", "x")],
            21211,
            "Invalid 'To' Phone Number: 12",
        ),
    ];
    for (form, code, message) in cases {
        let (status, body) = create(&fake, form).await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({"code": code, "message": message,
                   "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": 400})
        );
    }
}

#[tokio::test]
async fn list_pages_newest_first_following_next_page_uri() {
    let fake = TwilioFake::start().await;
    let account = fake.add_account(SID, TOKEN);
    let mut sids = Vec::new();
    for i in 0..5 {
        sids.push(account.push_incoming(
            "+15550001111",
            "+15017122661",
            &format!("msg {i}"),
            vec![],
        ));
    }
    account.push_incoming("+15550002222", "+15017122661", "someone else", vec![]);

    let mut seen = Vec::new();
    let mut next = Some(format!(
        "/2010-04-01/Accounts/{SID}/Messages.json?From=%2B15550001111&PageSize=2"
    ));
    let mut pages = 0;
    while let Some(uri) = next {
        let (status, page) = get(&fake, &uri).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["page_size"], 2);
        assert_eq!(page["page"], pages);
        assert_eq!(page["start"], pages * 2);
        assert!(page["first_page_uri"]
            .as_str()
            .unwrap()
            .contains("From=%2B15550001111&PageSize=2&Page=0"));
        if pages == 0 {
            assert_eq!(page["previous_page_uri"], Value::Null);
        } else {
            assert!(page["previous_page_uri"]
                .as_str()
                .unwrap()
                .contains("PageToken=PB"));
        }
        for m in page["messages"].as_array().unwrap() {
            assert_eq!(m["direction"], "inbound");
            assert_eq!(m["status"], "received");
            seen.push(m["sid"].as_str().unwrap().to_owned());
        }
        next = page["next_page_uri"].as_str().map(str::to_owned);
        if let Some(n) = &next {
            assert!(n.contains("PageToken=PA"), "{n}");
        }
        pages += 1;
    }
    assert_eq!(pages, 3);
    sids.reverse();
    assert_eq!(seen, sids, "newest first, every message once");

    // Without filters the page's own uri carries only the paging parameters.
    let (_, page) = get(
        &fake,
        &format!("/2010-04-01/Accounts/{SID}/Messages.json?PageSize=1"),
    )
    .await;
    let uri = page["uri"].as_str().unwrap();
    assert!(uri.ends_with("Messages.json?PageSize=1&Page=0"), "{uri}");
    assert_eq!(
        (page["start"].clone(), page["end"].clone()),
        (json!(0), json!(0))
    );

    // Date filters: everything was sent today, nothing after the far future.
    let (_, page) = get(
        &fake,
        &format!("/2010-04-01/Accounts/{SID}/Messages.json?DateSent%3E=2000-01-01"),
    )
    .await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 6);
    assert_eq!(page["end"], 5);
    let (_, page) = get(
        &fake,
        &format!("/2010-04-01/Accounts/{SID}/Messages.json?DateSent%3E=2999-01-01"),
    )
    .await;
    assert_eq!(page["messages"], json!([]));
    assert_eq!(page["next_page_uri"], Value::Null);
    let (_, page) = get(
        &fake,
        &format!("/2010-04-01/Accounts/{SID}/Messages.json?To=%2B19999999999"),
    )
    .await;
    assert_eq!(page["messages"], json!([]));
}

#[tokio::test]
async fn inbound_media_is_listed_and_downloadable_through_the_webhook_urls() {
    let fake = TwilioFake::start().await;
    let account = fake.add_account(SID, TOKEN);
    let sid = account.push_incoming(
        "+15550001111",
        "+15017122661",
        "see attached",
        vec![
            ("image/jpeg".into(), b"JPEG".to_vec()),
            ("application/pdf".into(), b"%PDF".to_vec()),
        ],
    );
    assert!(sid.starts_with("MM"));

    let (status, list) = get(
        &fake,
        &format!("/2010-04-01/Accounts/{SID}/Messages/{sid}/Media.json"),
    )
    .await;
    assert_eq!(status, 200);
    let media = list["media_list"].as_array().unwrap();
    assert_eq!(media.len(), 2);
    assert_eq!(media[0]["content_type"], "image/jpeg");
    assert_eq!(media[0]["parent_sid"], sid.as_str());
    assert!(media[0]["sid"].as_str().unwrap().starts_with("ME"));
    let (status, one) = get(&fake, media[1]["uri"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(one["content_type"], "application/pdf");

    let params = account.incoming_webhook_params(&sid).unwrap();
    let value = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(value("MessageSid"), sid);
    assert_eq!(value("NumMedia"), "2");
    assert_eq!(value("Body"), "see attached");
    assert_eq!(value("From"), "+15550001111");
    assert_eq!(value("MediaContentType1"), "application/pdf");
    // The media URL redirects to the content (public by default, like Twilio's default).
    let content = reqwest::get(value("MediaUrl0")).await.unwrap();
    assert_eq!(content.status(), 200);
    assert_eq!(content.headers()["content-type"], "image/jpeg");
    assert_eq!(content.bytes().await.unwrap().as_ref(), b"JPEG");

    account.require_media_auth(true);
    assert_eq!(
        reqwest::get(value("MediaUrl0")).await.unwrap().status(),
        401
    );
    let authed = reqwest::Client::new()
        .get(value("MediaUrl0"))
        .basic_auth(SID, Some(TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(authed.bytes().await.unwrap().as_ref(), b"JPEG");
}

#[tokio::test]
async fn whatsapp_webhook_params_and_their_signature() {
    let fake = TwilioFake::start().await;
    let account = fake.add_account(SID, TOKEN);
    account.set_whatsapp_profile_name("whatsapp:+15550001111", "Maria");
    let sid = account.push_incoming(
        "whatsapp:+15550001111",
        "whatsapp:+14155238886",
        "olá",
        vec![],
    );
    let params = account.incoming_webhook_params(&sid).unwrap();
    let value = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(value("ProfileName"), "Maria");
    assert_eq!(value("WaId"), "15550001111");
    assert_eq!(value("MessageType"), "text");
    assert_eq!(value("SmsStatus"), "received");
    let signature = sign_webhook(TOKEN, "https://caixa.example/hooks/twilio", &params);
    assert_eq!(signature.len(), 28, "base64 of a 20-byte SHA-1 MAC");
    assert!(account.incoming_webhook_params("SMnope").is_none());
}

#[tokio::test]
async fn injected_failures_use_twilio_error_bodies() {
    let fake = TwilioFake::start().await;
    fake.add_account(SID, TOKEN);
    fake.fail_next(
        "/Messages.json",
        Failure::RateLimited {
            retry_after_secs: 1,
        },
    );
    let (status, body) = create(
        &fake,
        &[
            ("To", "+15558675310"),
            ("From", "+15017122661"),
            ("Body", "x"),
        ],
    )
    .await;
    assert_eq!(status, 429);
    assert_eq!(
        body,
        json!({"code": 20429, "message": "Too Many Requests",
               "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429})
    );
    fake.fail_next(
        "Messages",
        Failure::Status {
            status: 400,
            code: 21610,
            message: "Attempt to send to unsubscribed recipient".into(),
        },
    );
    let (status, body) = create(
        &fake,
        &[
            ("To", "+15558675310"),
            ("From", "+15017122661"),
            ("Body", "x"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], 21610);
    let recorded = fake
        .wait_for_request(|r| r.method == "POST", Duration::from_secs(1))
        .await
        .unwrap();
    assert!(recorded
        .body_form()
        .contains(&("Body".to_string(), "x".to_string())));
    assert_eq!(fake.requests().len(), 2);
}
