//! Contacts across channels: the same e-mail or phone from another channel joins the known
//! contact; edits are checked; duplicates are suggested and merged without losing anything.

use caixa_core::caixa::IncomingOwned;
use caixa_core::model::*;
use caixa_core::secrets::Secrets;
use caixa_core::{Caixa, Config, Error};

fn open(dir: &tempfile::TempDir) -> Caixa {
    Caixa::open(Config::new(dir.path().to_path_buf(), Secrets::memory())).unwrap()
}

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

async fn writes(
    caixa: &Caixa,
    inbox: InboxId,
    key: &str,
    name: &str,
    email: Option<&str>,
    phone: Option<&str>,
) -> ConversationRow {
    let id = caixa
        .ingest(IncomingOwned {
            inbox_id: inbox,
            contact_key: key.into(),
            contact_name: name.into(),
            contact_email: email.map(Into::into),
            contact_phone: phone.map(Into::into),
            thread_key: key.into(),
            source_id: None,
            content: format!("hello from {key}"),
            created_at: caixa_core::store::now_ms(),
            files: Vec::new(),
        })
        .await
        .unwrap()
        .conversation_id;
    caixa.get_conversation(id).await.unwrap()
}

#[tokio::test]
async fn the_same_email_or_phone_on_another_channel_is_the_same_contact() {
    let dir = tempfile::tempdir().unwrap();
    let caixa = open(&dir);
    let mail = api_inbox(&caixa, "Mail").await;
    let whatsapp = api_inbox(&caixa, "WhatsApp").await;
    let sms = api_inbox(&caixa, "SMS").await;

    let by_mail = writes(
        &caixa,
        mail,
        "rita@example.com",
        "Rita Lopes",
        Some("Rita@Example.com"),
        None,
    )
    .await;
    // The agent records her phone; later she writes on WhatsApp (digits only) and by SMS.
    let mut input = ContactInput {
        name: "Rita Lopes".into(),
        email: Some("Rita@Example.com".into()),
        phone: Some("+55 (11) 98765-4321".into()),
        ..ContactInput::default()
    };
    caixa
        .update_contact(by_mail.contact_id, input.clone())
        .await
        .unwrap();
    let by_whatsapp = writes(
        &caixa,
        whatsapp,
        "5511987654321",
        "Rita",
        None,
        Some("5511987654321"),
    )
    .await;
    let by_sms = writes(
        &caixa,
        sms,
        "+5511987654321",
        "+5511987654321",
        None,
        Some("+5511987654321"),
    )
    .await;
    let by_mail_again = writes(
        &caixa,
        mail,
        "RITA@example.com",
        "R. Lopes",
        Some("rita@EXAMPLE.com"),
        None,
    )
    .await;
    for row in [&by_whatsapp, &by_sms, &by_mail_again] {
        assert_eq!(row.contact_id, by_mail.contact_id, "{row:?}");
    }
    let details = caixa.contact_details(by_mail.contact_id).await.unwrap();
    assert_eq!(details.conversations.len(), 4);
    assert_eq!(details.channels.len(), 4);
    assert_eq!(details.contact.email.as_deref(), Some("Rita@Example.com"));

    // Someone else stays someone else.
    let other = writes(
        &caixa,
        whatsapp,
        "5511900000000",
        "Joao",
        None,
        Some("5511900000000"),
    )
    .await;
    assert_ne!(other.contact_id, by_mail.contact_id);

    // Edits: notes and attributes kept; bad values refused by field, nothing changed.
    input.notes = "Premium plan since 2024".into();
    input.attributes.insert("plan".into(), "premium".into());
    let saved = caixa
        .update_contact(by_mail.contact_id, input.clone())
        .await
        .unwrap();
    assert_eq!(
        saved.attributes.get("plan").map(String::as_str),
        Some("premium")
    );
    for (bad, field) in [
        (
            ContactInput {
                name: " ".into(),
                ..input.clone()
            },
            "name",
        ),
        (
            ContactInput {
                email: Some("rita at example".into()),
                ..input.clone()
            },
            "email",
        ),
        (
            ContactInput {
                phone: Some("call me".into()),
                ..input.clone()
            },
            "phone",
        ),
    ] {
        match caixa.update_contact(by_mail.contact_id, bad).await {
            Err(Error::Validation(f)) => assert_eq!(f[0].field, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(
        caixa
            .contact_details(by_mail.contact_id)
            .await
            .unwrap()
            .contact,
        saved
    );

    // The contacts page finds her by any part of name, e-mail or phone.
    let found = caixa.list_contacts("98765", 50, 0).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].conversation_count, 4);
    assert_eq!(caixa.list_contacts("", 50, 0).await.unwrap().len(), 2);
}

#[tokio::test]
async fn duplicates_are_suggested_and_merged_without_losing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let caixa = open(&dir);
    let chat = api_inbox(&caixa, "Chat").await;
    let shop = api_inbox(&caixa, "Shop").await;
    let a = writes(&caixa, chat, "visitor-1", "Ana", None, None).await;
    let b = writes(&caixa, shop, "cust-9", "Ana Souza", None, None).await;
    assert_ne!(a.contact_id, b.contact_id);
    assert!(caixa.merge_suggestions().await.unwrap().is_empty());

    // An agent fills in the same phone on both: now they are suggested as one person.
    let edit = |name: &str, notes: &str, attr: (&str, &str)| ContactInput {
        name: name.into(),
        phone: Some("+351 912 345 678".into()),
        notes: notes.into(),
        attributes: [(attr.0.to_string(), attr.1.to_string())].into(),
        ..ContactInput::default()
    };
    caixa
        .update_contact(
            a.contact_id,
            edit("Ana", "Asked about sizes", ("plan", "free")),
        )
        .await
        .unwrap();
    caixa
        .update_contact(
            b.contact_id,
            ContactInput {
                email: Some("ana@example.com".into()),
                ..edit("Ana Souza", "VIP", ("company", "Souza Lda"))
            },
        )
        .await
        .unwrap();
    let suggestions = caixa.merge_suggestions().await.unwrap();
    assert_eq!(suggestions.len(), 1);
    assert_eq!(suggestions[0].reason, "phone");
    assert_eq!(
        (suggestions[0].a.id, suggestions[0].b.id),
        (a.contact_id, b.contact_id)
    );

    assert!(matches!(
        caixa.merge_contacts(a.contact_id, a.contact_id).await,
        Err(Error::Validation(_))
    ));
    let merged = caixa
        .merge_contacts(a.contact_id, b.contact_id)
        .await
        .unwrap();
    assert_eq!(merged.conversations.len(), 2, "both conversations moved");
    assert_eq!(merged.channels.len(), 2);
    let c = merged.contact;
    assert_eq!(c.name, "Ana");
    assert_eq!(
        c.email.as_deref(),
        Some("ana@example.com"),
        "taken from the other"
    );
    assert_eq!(c.notes, "Asked about sizes\n\nVIP");
    assert_eq!(c.attributes.len(), 2);
    assert!(matches!(
        caixa.contact_details(b.contact_id).await,
        Err(Error::NotFound(_))
    ));
    // Messages and conversation rows survived; the other's channel now finds the kept contact.
    assert_eq!(caixa.list_messages(b.id).await.unwrap().len(), 1);
    assert_eq!(
        caixa.get_conversation(b.id).await.unwrap().contact_name,
        "Ana"
    );
    let again = writes(&caixa, shop, "cust-9", "Ana Souza", None, None).await;
    assert_eq!(again.contact_id, a.contact_id);
    assert!(caixa.merge_suggestions().await.unwrap().is_empty());
}
