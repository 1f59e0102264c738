//! Reports over a period: conversations opened/resolved, messages in/out (people vs. bot),
//! median first response and resolution, per inbox, per day, busiest hours, CSV export, and
//! refused bad periods.

use caixa_core::caixa::IncomingOwned;
use caixa_core::model::*;
use caixa_core::secrets::Secrets;
use caixa_core::{Caixa, Config, Error};

const HOUR: i64 = 3_600_000;
const MIN: i64 = 60_000;

async fn api_inbox(caixa: &Caixa, name: &str) -> InboxId {
    caixa
        .add_inbox(InboxInput {
            name: name.into(),
            settings: InboxSettings::Api(ApiSettings { webhook_url: None }),
            password: None,
            webhook_secret: None,
        })
        .await
        .unwrap()
        .inbox
        .id
}

async fn customer(caixa: &Caixa, inbox: InboxId, who: &str, at: i64) -> ConversationId {
    caixa
        .ingest(IncomingOwned {
            inbox_id: inbox,
            contact_key: who.into(),
            contact_name: who.into(),
            contact_email: None,
            contact_phone: None,
            thread_key: who.into(),
            source_id: None,
            content: "help".into(),
            created_at: at,
            files: Vec::new(),
        })
        .await
        .unwrap()
        .conversation_id
}

/// A reply by a person (or the bot) at a given time.
async fn reply(caixa: &Caixa, id: ConversationId, at: i64, by_bot: bool) {
    let m = caixa.send_message(id, "answer", false, &[]).await.unwrap();
    caixa
        .store()
        .write(move |tx| {
            tx.execute(
                "UPDATE messages SET created_at = ?2, by_bot = ?3, delivery = 'sent' WHERE id = ?1",
                rusqlite::params![m.id, at, by_bot],
            )?;
            Ok(())
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_period_per_inbox_and_overall() {
    let dir = tempfile::tempdir().unwrap();
    let caixa = Caixa::open(Config::new(dir.path().to_path_buf(), Secrets::memory())).unwrap();
    let shop = api_inbox(&caixa, "Shop").await;
    let chat = api_inbox(&caixa, "Chat").await;
    // Day 0 = 2026-11-02 (UTC). Viewed from UTC-3.
    let day0 = 1_793_577_600_000; // 2026-11-02T00:00:00Z
    let offset = -180;
    let a = customer(&caixa, shop, "a", day0 + 13 * HOUR).await; // 10:00 local
    reply(&caixa, a, day0 + 13 * HOUR + 10 * MIN, false).await;
    let b = customer(&caixa, shop, "b", day0 + 14 * HOUR).await; // 11:00 local
    reply(&caixa, b, day0 + 14 * HOUR + MIN, true).await; // the bot first…
    reply(&caixa, b, day0 + 14 * HOUR + 30 * MIN, false).await; // …then a person
    let c = customer(&caixa, chat, "c", day0 + 24 * HOUR + 13 * HOUR).await; // next day
    customer(&caixa, chat, "old", day0 - 40 * HOUR).await; // before the period
    for id in [a, c] {
        caixa
            .set_status(id, ConversationStatus::Resolved)
            .await
            .unwrap();
    }
    // Resolved "now" (the trigger stamps real time): the period must include now.
    let now = caixa_core::store::now_ms();
    let query = ReportQuery {
        inbox_id: None,
        since: day0,
        until: now + HOUR,
        utc_offset_minutes: offset,
    };
    let r = caixa.report(query.clone()).await.unwrap();
    assert_eq!(r.totals.opened, 3);
    assert_eq!(r.totals.resolved, 2);
    assert_eq!(r.totals.messages_in, 3);
    assert_eq!(r.totals.messages_out, 2);
    assert_eq!(r.totals.bot_messages, 1);
    // First responses by people: 10 min and 30 min → median 20 min (c has none).
    assert_eq!(r.totals.median_first_response_ms, Some(20 * MIN));
    assert!(r.totals.median_resolution_ms.unwrap() > 0);

    let shop_r = r.inboxes.iter().find(|i| i.inbox_id == shop).unwrap();
    assert_eq!((shop_r.totals.opened, shop_r.totals.resolved), (2, 1));
    assert_eq!(shop_r.totals.median_first_response_ms, Some(20 * MIN));
    let chat_r = r.inboxes.iter().find(|i| i.inbox_id == chat).unwrap();
    assert_eq!((chat_r.totals.opened, chat_r.totals.messages_in), (1, 1));
    assert_eq!(chat_r.totals.median_first_response_ms, None);

    // Days in the viewer's offset: 2026-11-01 21:00 local is day0 00:00 UTC.
    assert_eq!(r.days[0].day, "2026-11-01");
    let nov2 = r.days.iter().find(|d| d.day == "2026-11-02").unwrap();
    assert_eq!((nov2.opened, nov2.messages_in), (2, 2));
    let nov3 = r.days.iter().find(|d| d.day == "2026-11-03").unwrap();
    assert_eq!(nov3.opened, 1);
    assert_eq!(r.busiest_hours.len(), 24);
    assert_eq!((r.busiest_hours[10], r.busiest_hours[11]), (2, 1));

    // One inbox only.
    let only = caixa
        .report(ReportQuery {
            inbox_id: Some(chat),
            ..query.clone()
        })
        .await
        .unwrap();
    assert_eq!(only.totals.opened, 1);
    assert_eq!(only.inboxes.len(), 1);

    // CSV: the summary, each inbox, each day, each hour.
    let path = dir.path().join("report.csv");
    caixa
        .export_report(query.clone(), path.clone())
        .await
        .unwrap();
    let csv = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("inbox,conversations opened,conversations resolved"),
        "{csv}"
    );
    assert!(lines[1].starts_with("all,3,2,3,2,1,20.0,"), "{csv}");
    assert!(
        lines.iter().any(|l| l.starts_with("Shop,2,1,2,2,1,20.0,")),
        "{csv}"
    );
    assert!(lines.contains(&"2026-11-02,2,0,2"), "{csv}");
    assert!(lines.contains(&"10:00,2"), "{csv}");

    // Bad periods are refused.
    for (since, until) in [(day0, day0), (day0, day0 + 800 * 24 * HOUR)] {
        match caixa
            .report(ReportQuery {
                since,
                until,
                ..query.clone()
            })
            .await
        {
            Err(Error::Validation(f)) => assert_eq!(f[0].field, "until"),
            other => panic!("{other:?}"),
        }
    }
}
