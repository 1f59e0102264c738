//! The per-inbox chatbot: greeting, FAQ answers, "talk to a human" and no-match hand-over,
//! the out-of-office reply, the agent-bot webhook (signed requests, answers, hand-over on
//! request, on error and on timeout) and refused bad settings. Replies go out through a real
//! API-channel webhook on loopback, so the customer's side is checked too.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use caixa_core::caixa::IncomingOwned;
use caixa_core::model::*;
use caixa_core::secrets::Secrets;
use caixa_core::{signature, Caixa, Config, Error, Running};
use serde_json::{json, Value};

mod common;
use common::wait_for;

type Log = Arc<Mutex<Vec<Value>>>;

/// A loopback server: `/hook` records what the API channel delivers to the customer; `/bot`
/// is an agent bot checking Caixa's signature with `secret` (set once known).
async fn serve(secret: Arc<Mutex<String>>) -> (String, Log, Log) {
    let delivered: Log = Arc::default();
    let asked: Log = Arc::default();
    let (d, a) = (delivered.clone(), asked.clone());
    let app = Router::new()
        .route(
            "/hook",
            post(move |Json(v): Json<Value>| {
                let d = d.clone();
                async move {
                    d.lock().unwrap().push(v);
                    StatusCode::OK
                }
            }),
        )
        .route(
            "/bot",
            post(move |headers: HeaderMap, body: Bytes| {
                let (a, secret) = (a.clone(), secret.clone());
                async move {
                    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
                    let secret = secret.lock().unwrap().clone();
                    let now = caixa_core::store::now_ms() / 1000;
                    if signature::verify(
                        &secret,
                        header(signature::TIMESTAMP_HEADER),
                        header(signature::SIGNATURE_HEADER),
                        &body,
                        now,
                    )
                    .is_err()
                    {
                        return (
                            StatusCode::UNAUTHORIZED,
                            Json(json!({"error": "bad signature"})),
                        );
                    }
                    let v: Value = serde_json::from_slice(&body).unwrap();
                    a.lock().unwrap().push(v.clone());
                    let text = v["message"]["content"].as_str().unwrap_or("").to_string();
                    if text.contains("slow") {
                        tokio::time::sleep(Duration::from_secs(3)).await;
                    }
                    if text.contains("crash") {
                        return (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({})));
                    }
                    let answer = if text.contains("manager") {
                        json!({"content": "Passing you to a manager.", "handover": true})
                    } else {
                        json!({"content": format!("Bot says: {text}")})
                    };
                    (StatusCode::OK, Json(answer))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, delivered, asked)
}

async fn start(dir: &tempfile::TempDir) -> (Caixa, Running) {
    let mut cfg = Config::new(dir.path().to_path_buf(), Secrets::memory());
    cfg.agent_name = "Ana".into();
    cfg.retry.base = Duration::from_millis(50);
    let caixa = Caixa::open(cfg).unwrap();
    let running = caixa.start().await.unwrap();
    (caixa, running)
}

async fn api_inbox(caixa: &Caixa, hook: &str) -> InboxId {
    caixa
        .add_inbox(InboxInput {
            name: "Shop".into(),
            settings: InboxSettings::Api(ApiSettings {
                webhook_url: Some(hook.into()),
            }),
            password: None,
            webhook_secret: None,
        })
        .await
        .unwrap()
        .inbox
        .id
}

async fn writes(caixa: &Caixa, inbox: InboxId, who: &str, text: &str) -> ConversationId {
    let id = caixa
        .ingest(IncomingOwned {
            inbox_id: inbox,
            contact_key: who.into(),
            contact_name: who.into(),
            contact_email: Some(format!(
                "{}@example.com",
                who.split(' ').next().unwrap().to_lowercase()
            )),
            contact_phone: None,
            thread_key: who.into(),
            source_id: None,
            content: text.into(),
            created_at: caixa_core::store::now_ms(),
            files: Vec::new(),
        })
        .await
        .unwrap()
        .conversation_id;
    tokio::time::timeout(Duration::from_secs(15), caixa.settle_automation())
        .await
        .expect("automation settled");
    id
}

async fn bot_said(caixa: &Caixa, id: ConversationId) -> Vec<String> {
    caixa
        .list_messages(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == MessageKind::Outgoing)
        .map(|m| {
            assert!(m.by_bot, "only the bot wrote here: {m:?}");
            assert_eq!(m.sender_name.as_deref(), Some("Bot"));
            m.content
        })
        .collect()
}

async fn status(caixa: &Caixa, id: ConversationId) -> ConversationStatus {
    caixa.get_conversation(id).await.unwrap().status
}

fn faq_bot() -> BotSettings {
    BotSettings {
        greeting: Some("Hi {{contact.first_name}}! Ask me about prices or delivery.".into()),
        faq: vec![
            FaqAnswer {
                keywords: vec!["price".into(), "preço".into()],
                answer: "Plans start at 10 €.".into(),
            },
            FaqAnswer {
                keywords: vec!["delivery".into()],
                answer: "We deliver in 2 days.".into(),
            },
        ],
        handover_message: Some("Connecting you with a person.".into()),
        ..BotSettings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_greets_answers_and_hands_over() {
    let dir = tempfile::tempdir().unwrap();
    let (caixa, _running) = start(&dir).await;
    let (base, delivered, _) = serve(Arc::default()).await;
    let inbox = api_inbox(&caixa, &format!("{base}/hook")).await;
    let bot = caixa.save_inbox_bot(inbox, faq_bot()).await.unwrap();
    assert!(bot.active);
    assert_eq!(bot.agent_bot_secret, None);
    let mut events = caixa.events().subscribe();

    // "hello": the greeting answers it; the bot keeps the conversation (pending).
    let id = writes(&caixa, inbox, "Rita Lopes", "hello").await;
    assert_eq!(
        bot_said(&caixa, id).await,
        ["Hi Rita! Ask me about prices or delivery."]
    );
    assert_eq!(status(&caixa, id).await, ConversationStatus::Pending);

    writes(&caixa, inbox, "Rita Lopes", "What's the PRICE?").await;
    writes(&caixa, inbox, "Rita Lopes", "and delivery?").await;
    assert_eq!(
        bot_said(&caixa, id).await[1..],
        ["Plans start at 10 €.", "We deliver in 2 days."]
    );
    assert_eq!(status(&caixa, id).await, ConversationStatus::Pending);

    // "talk to a human": hand-over message, status open, a line saying why, an event.
    writes(&caixa, inbox, "Rita Lopes", "I want to talk to a human").await;
    assert_eq!(
        bot_said(&caixa, id).await.last().unwrap(),
        "Connecting you with a person."
    );
    assert_eq!(status(&caixa, id).await, ConversationStatus::Open);
    let activity: Vec<String> = caixa
        .list_messages(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == MessageKind::Activity)
        .map(|m| m.content)
        .collect();
    assert!(
        activity.contains(
            &"Bot handed the conversation over to a person: the customer asked for a person"
                .to_string()
        ),
        "{activity:?}"
    );
    let mut handed = None;
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(500), events.recv()).await {
        if matches!(e, CoreEvent::HandedOver { .. }) {
            handed = Some(e);
            break;
        }
    }
    assert_eq!(
        handed,
        Some(CoreEvent::HandedOver {
            conversation_id: id
        })
    );

    // A person has it now: the bot stays quiet.
    writes(&caixa, inbox, "Rita Lopes", "price?").await;
    assert_eq!(bot_said(&caixa, id).await.len(), 4);

    // The customer received every bot message through the channel, marked as the bot's.
    let got = wait_for("four deliveries", Duration::from_secs(10), || {
        let d = delivered.lock().unwrap().clone();
        async move { (d.len() >= 4).then_some(d) }
    })
    .await;
    let texts: Vec<&str> = got
        .iter()
        .map(|v| v["message"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "Hi Rita! Ask me about prices or delivery.",
            "Plans start at 10 €.",
            "We deliver in 2 days.",
            "Connecting you with a person."
        ]
    );
    assert!(got.iter().all(|v| v["message"]["sender_name"] == "Bot"));

    // No answer to a real question: handed over too.
    let other = writes(&caixa, inbox, "Joao", "hi").await;
    writes(&caixa, inbox, "Joao", "my parcel is broken").await;
    assert_eq!(status(&caixa, other).await, ConversationStatus::Open);
    let last_activity = caixa
        .list_messages(other)
        .await
        .unwrap()
        .into_iter()
        .rfind(|m| m.kind == MessageKind::Activity)
        .unwrap();
    assert!(
        last_activity.content.ends_with("the bot had no answer"),
        "{last_activity:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_office_is_sent_once_outside_business_hours() {
    let dir = tempfile::tempdir().unwrap();
    let (caixa, _running) = start(&dir).await;
    let (base, _, _) = serve(Arc::default()).await;
    let inbox = api_inbox(&caixa, &format!("{base}/hook")).await;
    let closed = BusinessHours {
        time_zone: "America/Sao_Paulo".into(),
        days: vec![],
    };
    let bot = caixa
        .save_inbox_bot(
            inbox,
            BotSettings {
                business_hours: Some(closed),
                out_of_office: Some("We're closed, {{contact.first_name}}; back at 9.".into()),
                ..BotSettings::default()
            },
        )
        .await
        .unwrap();
    assert!(!bot.active, "hours alone do not make a bot");
    let id = writes(&caixa, inbox, "Rita", "hello?").await;
    writes(&caixa, inbox, "Rita", "anyone?").await;
    assert_eq!(
        bot_said(&caixa, id).await,
        ["We're closed, Rita; back at 9."]
    );
    assert_eq!(
        status(&caixa, id).await,
        ConversationStatus::Open,
        "people still see it"
    );

    // Open all week: no reply.
    let mut s = bot.settings;
    s.business_hours = Some(BusinessHours {
        time_zone: "America/Sao_Paulo".into(),
        days: (1..=7)
            .map(|weekday| OpeningHours {
                weekday,
                open: "00:00".into(),
                close: "24:00".into(),
            })
            .collect(),
    });
    caixa.save_inbox_bot(inbox, s).await.unwrap();
    let open = writes(&caixa, inbox, "Joao", "hello?").await;
    assert!(bot_said(&caixa, open).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_bot_answers_signed_requests_and_falls_back_to_people() {
    let dir = tempfile::tempdir().unwrap();
    let (caixa, _running) = start(&dir).await;
    let secret = Arc::new(Mutex::new(String::new()));
    let (base, _, asked) = serve(secret.clone()).await;
    let inbox = api_inbox(&caixa, &format!("{base}/hook")).await;
    let bot = caixa
        .save_inbox_bot(
            inbox,
            BotSettings {
                agent_bot_url: Some(format!("{base}/bot")),
                agent_bot_timeout_secs: 1,
                handover_keywords: vec!["atendente".into()],
                ..BotSettings::default()
            },
        )
        .await
        .unwrap();
    assert!(bot.active);
    let key = bot
        .agent_bot_secret
        .clone()
        .expect("a signing secret was made");
    assert_eq!(key.len(), 64);
    *secret.lock().unwrap() = key.clone();
    // Saving again keeps the same secret.
    let again = caixa
        .save_inbox_bot(inbox, bot.settings.clone())
        .await
        .unwrap();
    assert_eq!(again.agent_bot_secret.as_deref(), Some(key.as_str()));

    let id = writes(&caixa, inbox, "Rita Lopes", "where is order 42?").await;
    assert_eq!(bot_said(&caixa, id).await, ["Bot says: where is order 42?"]);
    assert_eq!(status(&caixa, id).await, ConversationStatus::Pending);
    let req = asked.lock().unwrap()[0].clone();
    assert_eq!(req["event"], "message.received");
    assert_eq!(req["inbox"]["id"], inbox);
    assert_eq!(req["inbox"]["channel"], "api");
    assert_eq!(req["conversation"]["id"], id);
    assert_eq!(req["conversation"]["status"], "pending");
    assert_eq!(req["contact"]["name"], "Rita Lopes");
    assert_eq!(req["contact"]["email"], "rita@example.com");
    assert_eq!(req["message"]["content"], "where is order 42?");

    // The bot asks for a person: its answer is sent, then the conversation is handed over.
    writes(&caixa, inbox, "Rita Lopes", "I want the manager").await;
    assert_eq!(
        bot_said(&caixa, id).await.last().unwrap(),
        "Passing you to a manager."
    );
    assert_eq!(status(&caixa, id).await, ConversationStatus::Open);

    // Too slow, or failing: people take over, with the reason in the thread.
    for (who, text, why) in [
        ("Joao", "slow question", "did not answer within 1 s"),
        ("Lia", "crash please", "answered HTTP 500"),
    ] {
        let c = writes(&caixa, inbox, who, text).await;
        assert_eq!(status(&caixa, c).await, ConversationStatus::Open, "{who}");
        let line = caixa
            .list_messages(c)
            .await
            .unwrap()
            .into_iter()
            .rfind(|m| m.kind == MessageKind::Activity)
            .unwrap();
        assert!(line.content.contains(why), "{line:?}");
    }

    // A forged signature is refused by the bot: that is a failure too (HTTP 401).
    *secret.lock().unwrap() = "someone else's".into();
    let c = writes(&caixa, inbox, "Eva", "hello").await;
    assert_eq!(status(&caixa, c).await, ConversationStatus::Open);

    // The inbox's own hand-over words skip the bot entirely.
    *secret.lock().unwrap() = key;
    let before = asked.lock().unwrap().len();
    let c = writes(&caixa, inbox, "Rui", "quero um atendente").await;
    assert_eq!(status(&caixa, c).await, ConversationStatus::Open);
    assert_eq!(asked.lock().unwrap().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bot_settings_are_refused_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let (caixa, _running) = start(&dir).await;
    let inbox = api_inbox(&caixa, "http://127.0.0.1:9/hook").await;
    let good = caixa.save_inbox_bot(inbox, faq_bot()).await.unwrap();
    let hours = |tz: &str, open: &str, close: &str| {
        Some(BusinessHours {
            time_zone: tz.into(),
            days: vec![OpeningHours {
                weekday: 1,
                open: open.into(),
                close: close.into(),
            }],
        })
    };
    let cases: Vec<(BotSettings, &str, &str)> = vec![
        (
            BotSettings {
                out_of_office: Some("closed".into()),
                ..faq_bot()
            },
            "out_of_office",
            "business hours first",
        ),
        (
            BotSettings {
                business_hours: hours("Mars/Base", "09:00", "18:00"),
                ..faq_bot()
            },
            "business_hours",
            "time zone",
        ),
        (
            BotSettings {
                business_hours: hours("Europe/Lisbon", "18:00", "09:00"),
                ..faq_bot()
            },
            "business_hours",
            "before",
        ),
        (
            BotSettings {
                faq: vec![FaqAnswer {
                    keywords: vec![" ".into()],
                    answer: "x".into(),
                }],
                ..faq_bot()
            },
            "faq",
            "Answer 1: give at least one keyword",
        ),
        (
            BotSettings {
                greeting: Some("Hi {{contact.nme}}".into()),
                ..faq_bot()
            },
            "greeting",
            "contact.nme",
        ),
        (
            BotSettings {
                agent_bot_url: Some("ftp://bot".into()),
                ..faq_bot()
            },
            "agent_bot_url",
            "full address",
        ),
        (
            BotSettings {
                agent_bot_timeout_secs: 60,
                ..faq_bot()
            },
            "agent_bot_timeout_secs",
            "30 seconds",
        ),
    ];
    for (settings, field, needle) in cases {
        match caixa.save_inbox_bot(inbox, settings.clone()).await {
            Err(Error::Validation(f)) => {
                assert_eq!(f[0].field, field, "{settings:?}");
                assert!(f[0].message.contains(needle), "{} / {needle}", f[0].message);
            }
            other => panic!("{settings:?} was not refused: {other:?}"),
        }
    }
    assert_eq!(caixa.inbox_bot(inbox).await.unwrap(), good);
    assert!(matches!(
        caixa.inbox_bot(4242).await,
        Err(Error::NotFound(_))
    ));
}
