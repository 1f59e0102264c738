//! E-mail inboxes against real servers (Dovecot IMAP + Postfix SMTP on loopback, started by
//! `scripts/mail-servers.sh`): arrival by IDLE, threaded replies, reopening, HTML safety,
//! attachments and charsets, outages, UIDVALIDITY resets and bad credentials.

mod common;
mod mail_servers;

use std::time::{Duration, Instant};

use caixa_core::model::*;
use caixa_core::secrets::Secrets;
use caixa_core::{Caixa, Config, RetryPolicy, Running};
use common::wait_for;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use mail_parser::MimeHeaders;
use mail_servers::MailServers;

struct Engine {
    caixa: Caixa,
    running: Option<Running>,
    _dir: tempfile::TempDir,
}

impl Engine {
    async fn start(servers: &MailServers, trust_test_ca: bool) -> Engine {
        Engine::start_in(
            servers,
            trust_test_ca,
            tempfile::tempdir().unwrap(),
            Secrets::memory(),
        )
        .await
    }

    async fn start_in(
        servers: &MailServers,
        trust_test_ca: bool,
        dir: tempfile::TempDir,
        secrets: Secrets,
    ) -> Engine {
        let mut cfg = Config::new(dir.path().to_path_buf(), secrets);
        cfg.agent_name = "Ana".into();
        cfg.retry = RetryPolicy {
            base: Duration::from_millis(200),
            max_attempts: 4,
        };
        cfg.extra_ca_files = if trust_test_ca {
            vec![servers.ca_cert()]
        } else {
            Vec::new()
        };
        let caixa = Caixa::open(cfg).unwrap();
        let running = caixa.start().await.unwrap();
        Engine {
            caixa,
            running: Some(running),
            _dir: dir,
        }
    }

    async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }

    /// Stops the engine and hands back its data dir, for a restart on the same store.
    async fn stop_keep_data(mut self) -> tempfile::TempDir {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        self._dir
    }

    async fn count(&self, sql: &'static str) -> i64 {
        self.caixa
            .store()
            .read(move |c| Ok(c.query_row(sql, [], |r| r.get(0))?))
            .await
            .unwrap()
    }
}

fn settings(servers: &MailServers) -> EmailSettings {
    EmailSettings {
        address: servers.s("SUPPORT_USER"),
        display_name: "Acme Support".into(),
        imap: MailServer {
            host: "localhost".into(),
            port: servers.port("IMAPS_PORT"),
            security: MailSecurity::Tls,
        },
        smtp: MailServer {
            host: "localhost".into(),
            port: servers.port("SMTP_PORT"),
            security: MailSecurity::StartTls,
        },
        username: servers.s("SUPPORT_USER"),
        lookback_days: None,
        mark_seen: true,
    }
}

async fn add_inbox(engine: &Engine, servers: &MailServers) -> InboxView {
    engine
        .caixa
        .add_inbox(InboxInput {
            name: "Support mail".into(),
            settings: InboxSettings::Email(settings(servers)),
            password: Some(servers.s("SUPPORT_PASS")),
            webhook_secret: None,
        })
        .await
        .unwrap()
}

async fn wait_state(
    engine: &Engine,
    inbox_id: InboxId,
    want: fn(&InboxState) -> bool,
) -> InboxState {
    wait_for("inbox state", Duration::from_secs(30), || async {
        let list = engine.caixa.list_inboxes().await.unwrap();
        let state = list.into_iter().find(|v| v.inbox.id == inbox_id)?.state;
        want(&state).then_some(state)
    })
    .await
}

/// The customer's own mail client: SMTP submission over implicit TLS.
async fn customer_sends(servers: &MailServers, message: Message) {
    let tls = TlsParameters::builder("localhost".into())
        .add_root_certificate(
            Certificate::from_pem(&std::fs::read(servers.ca_cert()).unwrap()).unwrap(),
        )
        .build_rustls()
        .unwrap();
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("localhost")
        .port(servers.port("SMTPS_PORT"))
        .tls(Tls::Wrapper(tls))
        .credentials(Credentials::new(
            servers.s("CUSTOMER_USER"),
            servers.s("CUSTOMER_PASS"),
        ))
        .build();
    transport
        .send(message)
        .await
        .expect("customer's SMTP submission");
}

fn from_customer(servers: &MailServers) -> lettre::message::MessageBuilder {
    Message::builder()
        .from(
            format!("Maria Silva <{}>", servers.s("CUSTOMER_USER"))
                .parse()
                .unwrap(),
        )
        .to(servers.s("SUPPORT_USER").parse().unwrap())
}

/// A plain-text mail from the customer to support.
fn simple_mail(
    servers: &MailServers,
    subject: impl Into<String>,
    body: impl Into<String>,
) -> Message {
    from_customer(servers)
        .subject(subject.into())
        .body(body.into())
        .unwrap()
}

/// Waits until `sql` (a count) reaches `n`.
async fn wait_count(engine: &Engine, what: &str, sql: &'static str, n: i64, within: Duration) {
    wait_for(what, within, || async {
        (engine.count(sql).await == n).then_some(())
    })
    .await
}

/// Waits for a mail containing `needle` in a user's Maildir folder and returns it.
async fn wait_maildir(servers: &MailServers, user: &str, folder: &str, needle: &str) -> Vec<u8> {
    wait_for(needle, Duration::from_secs(30), || async {
        servers
            .maildir(user, folder)
            .into_iter()
            .find(|raw| String::from_utf8_lossy(raw).contains(needle))
    })
    .await
}

fn parse(raw: &[u8]) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default().parse(raw).unwrap()
}

async fn conversations(engine: &Engine) -> Vec<ConversationRow> {
    engine
        .caixa
        .list_conversations(ConversationFilter::default(), None, 50)
        .await
        .unwrap()
        .items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_mail_arrives_reply_threads_and_answer_reopens() {
    let servers = MailServers::start();
    let engine = Engine::start(&servers, true).await;
    let inbox = add_inbox(&engine, &servers).await;
    wait_state(&engine, inbox.inbox.id, |s| *s == InboxState::Connected).await;

    // 1. The customer writes; IDLE brings it in without any polling interval.
    let sent_at = Instant::now();
    customer_sends(
        &servers,
        from_customer(&servers)
            .subject("Não consigo entrar na minha conta")
            .message_id(Some("<first@customer.test>".into()))
            .body("Olá, a senha não funciona desde ontem.".to_string())
            .unwrap(),
    )
    .await;
    let row = wait_for("the new conversation", Duration::from_secs(10), || async {
        conversations(&engine).await.into_iter().next()
    })
    .await;
    println!(
        "customer mail → conversation stored: {:?}",
        sent_at.elapsed()
    );
    assert_eq!(row.channel, ChannelKind::Email);
    assert_eq!(row.contact_name, "Maria Silva");
    assert_eq!(row.unread_count, 1);
    assert!(
        row.preview.starts_with("Não consigo entrar na minha conta"),
        "{}",
        row.preview
    );
    let thread = engine.caixa.list_messages(row.id).await.unwrap();
    assert_eq!(thread.len(), 1);
    assert_eq!(
        thread[0].subject.as_deref(),
        Some("Não consigo entrar na minha conta")
    );
    assert!(thread[0].content.contains("a senha não funciona"));

    // 2. The agent answers from the app; the customer's mailbox receives it, threaded.
    let note = engine
        .caixa
        .send_message(row.id, "Only for us: check the logs", true, &[])
        .await
        .unwrap();
    let reply = engine
        .caixa
        .send_message(row.id, "Olá Maria, redefinimos a sua senha.", false, &[])
        .await
        .unwrap();
    let delivered = wait_maildir(&servers, &servers.s("CUSTOMER_USER"), "", "redefinimos").await;
    let m = parse(&delivered);
    assert_eq!(m.subject(), Some("Re: Não consigo entrar na minha conta"));
    assert_eq!(m.in_reply_to().as_text(), Some("first@customer.test"));
    assert!(m
        .references()
        .as_text_list()
        .map(|l| l.iter().any(|r| r == "first@customer.test"))
        .or_else(|| m.references().as_text().map(|r| r == "first@customer.test"))
        .unwrap_or(false));
    assert_eq!(
        m.from().unwrap().first().unwrap().address(),
        Some(servers.s("SUPPORT_USER").as_str())
    );
    assert!(
        !String::from_utf8_lossy(&delivered).contains("check the logs"),
        "a note was mailed"
    );
    let reply_id = m.message_id().unwrap().to_string();
    // The server may deliver before the outbox has recorded the send: wait for the record.
    wait_for(
        "the reply recorded as sent",
        Duration::from_secs(10),
        || async {
            let m = engine.caixa.get_message(reply.id).await.unwrap();
            (m.delivery == Some(Delivery::Sent)).then_some(())
        },
    )
    .await;
    assert_eq!(
        engine.caixa.get_message(note.id).await.unwrap().delivery,
        None
    );

    // A copy lands in the support mailbox's Sent folder.
    wait_maildir(&servers, &servers.s("SUPPORT_USER"), ".Sent", &reply_id).await;

    // 3. Resolve; the customer answers the reply → same conversation, reopened.
    engine
        .caixa
        .set_status(row.id, ConversationStatus::Resolved)
        .await
        .unwrap();
    customer_sends(
        &servers,
        from_customer(&servers)
            .subject("Re: Não consigo entrar na minha conta")
            .in_reply_to(format!("<{reply_id}>"))
            .references(format!("<first@customer.test> <{reply_id}>"))
            .body("Funcionou, obrigada!".to_string())
            .unwrap(),
    )
    .await;
    let reopened = wait_for(
        "the answer in the same conversation",
        Duration::from_secs(10),
        || async {
            let c = engine.caixa.get_conversation(row.id).await.ok()?;
            (c.status == ConversationStatus::Open && c.preview.contains("Funcionou")).then_some(c)
        },
    )
    .await;
    assert_eq!(reopened.id, row.id);
    assert_eq!(
        conversations(&engine).await.len(),
        1,
        "the answer started a new conversation"
    );

    // Syncing Sent (it ran before INBOX) did not add our reply a second time.
    assert_eq!(
        engine
            .count("SELECT count(*) FROM messages WHERE kind = 'outgoing'")
            .await,
        1
    );

    // 4. An auto-reply joins the thread but does not reopen a resolved conversation.
    engine
        .caixa
        .set_status(row.id, ConversationStatus::Resolved)
        .await
        .unwrap();
    let mut auto = from_customer(&servers)
        .subject("Out of office")
        .in_reply_to(format!("<{reply_id}>"))
        .body("I am away until Monday.".to_string())
        .unwrap();
    auto.headers_mut()
        .insert_raw(lettre::message::header::HeaderValue::new(
            lettre::message::header::HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-replied".into(),
        ));
    customer_sends(&servers, auto).await;
    wait_for("the auto-reply", Duration::from_secs(10), || async {
        let c = engine.caixa.get_conversation(row.id).await.ok()?;
        c.preview.contains("away until Monday").then_some(())
    })
    .await;
    assert_eq!(
        engine.caixa.get_conversation(row.id).await.unwrap().status,
        ConversationStatus::Resolved
    );

    // 5. Opening the conversation marks the customer's mail \Seen on the server.
    engine.caixa.mark_read(row.id).await.unwrap();
    wait_for("\\Seen on the server", Duration::from_secs(10), || async {
        let root = std::path::Path::new(&servers.s("MAILDIR_ROOT")).join(servers.s("SUPPORT_USER"));
        let seen = std::fs::read_dir(root.join("cur"))
            .ok()?
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(":2,S"))
            .count();
        (seen >= 3).then_some(())
    })
    .await;
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_attachments_and_charsets() {
    let servers = MailServers::start();
    let engine = Engine::start(&servers, true).await;
    let inbox = add_inbox(&engine, &servers).await;
    wait_state(&engine, inbox.inbox.id, |s| *s == InboxState::Connected).await;

    let html = r#"<p onclick="steal()">Veja a <b>fatura</b></p><script>alert('x')</script>
<img src="https://tracker.example/pixel.gif" onerror="alert(1)"><img src="cid:logo@acme">"#;
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\nfake".to_vec();
    let pdf: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    customer_sends(
        &servers,
        from_customer(&servers)
            .subject("Fatura de março — €120")
            .multipart(
                MultiPart::mixed()
                    .multipart(
                        MultiPart::related()
                            .multipart(MultiPart::alternative_plain_html(
                                "Veja a fatura".to_string(),
                                html.to_string(),
                            ))
                            .singlepart(
                                Attachment::new_inline("logo@acme".into())
                                    .body(png.clone(), "image/png".parse().unwrap()),
                            ),
                    )
                    .singlepart(
                        Attachment::new("fatura março.pdf".into())
                            .body(pdf.clone(), ContentType::parse("application/pdf").unwrap()),
                    ),
            )
            .unwrap(),
    )
    .await;
    // Latin-1 body, RFC 2047 subject in ISO-8859-1, written by hand as old clients do.
    let latin1 = b"From: Jos\xe9 <customer@caixa.test>\r\nTo: support@caixa.test\r\n\
Subject: =?ISO-8859-1?Q?Pedido_n=E3o_chegou?=\r\nMessage-ID: <latin1@customer.test>\r\n\
MIME-Version: 1.0\r\nContent-Type: text/plain; charset=ISO-8859-1\r\n\
Content-Transfer-Encoding: 8bit\r\n\r\nO pedido n\xe3o chegou at\xe9 hoje.\r\n";
    let file = servers.dir.path().join("latin1.eml");
    std::fs::write(&file, latin1).unwrap();
    servers.deliver(&servers.s("SUPPORT_USER"), &[&file]);

    let rows = wait_for("both conversations", Duration::from_secs(10), || async {
        let rows = conversations(&engine).await;
        (rows.len() == 2).then_some(rows)
    })
    .await;
    let html_conv = rows
        .iter()
        .find(|r| r.preview.contains("Fatura"))
        .expect("html mail");
    let latin_conv = rows
        .iter()
        .find(|r| r.preview.contains("Pedido"))
        .expect("latin-1 mail");
    let latin = &engine.caixa.list_messages(latin_conv.id).await.unwrap()[0];
    assert_eq!(latin.subject.as_deref(), Some("Pedido não chegou"));
    assert!(
        latin.content.contains("O pedido não chegou até hoje."),
        "{}",
        latin.content
    );

    let m = &engine.caixa.list_messages(html_conv.id).await.unwrap()[0];
    assert_eq!(m.subject.as_deref(), Some("Fatura de março — €120"));
    assert!(m.has_html);
    let pdf_att = m
        .attachments
        .iter()
        .find(|a| a.file_name == "fatura março.pdf")
        .expect("pdf listed");
    assert_eq!(pdf_att.size, pdf.len() as i64);
    assert_eq!(pdf_att.mime_type, "application/pdf");
    let path = engine.caixa.attachment_file(pdf_att.id).await.unwrap();
    assert_eq!(path.file_name().unwrap(), "fatura março.pdf");
    assert_eq!(std::fs::read(&path).unwrap(), pdf);

    let shown = engine.caixa.message_html(m.id, false).await.unwrap();
    for bad in ["<script", "onerror", "onclick", "alert(", "tracker.example"] {
        assert!(
            !shown.html.contains(bad),
            "{bad} reached the display document"
        );
    }
    assert_eq!(shown.blocked_images, 1);
    assert!(
        shown.html.contains("data:image/png;base64,"),
        "inline image not inlined"
    );
    assert!(shown.html.contains("Content-Security-Policy"));
    let allowed = engine.caixa.message_html(m.id, true).await.unwrap();
    assert!(allowed.html.contains("https://tracker.example/pixel.gif"));
    assert!(!allowed.html.contains("onerror"));

    // Attachments out: a reply with a file picked from disk reaches the customer intact.
    let picked = servers.dir.path().join("orçamento 2026.csv");
    let csv = "item;valor\nmanutenção;120\n".repeat(2000);
    std::fs::write(&picked, &csv).unwrap();
    let staged = engine.caixa.stage_file(picked).await.unwrap();
    assert_eq!(staged.file_name, "orçamento 2026.csv");
    assert_eq!(staged.mime_type, "text/csv");
    let reply = engine
        .caixa
        .send_message(html_conv.id, "Segue o orçamento.", false, &[staged])
        .await
        .unwrap();
    assert_eq!(reply.attachments.len(), 1);
    let sent = wait_for("the reply to leave", Duration::from_secs(20), || async {
        let m = engine.caixa.get_message(reply.id).await.unwrap();
        (m.delivery != Some(Delivery::Queued)).then_some(m)
    })
    .await;
    assert_eq!(sent.delivery, Some(Delivery::Sent), "{:?}", sent.error);
    let raw = wait_maildir(
        &servers,
        &servers.s("CUSTOMER_USER"),
        "",
        "Content-Type: text/csv",
    )
    .await;
    let got = parse(&raw);
    let file = got
        .attachments()
        .next()
        .expect("the reply carries the file");
    assert_eq!(file.attachment_name(), Some("orçamento 2026.csv"));
    assert_eq!(file.contents(), csv.as_bytes());
    assert_eq!(got.body_text(0).unwrap().trim(), "Segue o orçamento.");

    // A staged file that is gone, or a path that is not a file, is named in the error.
    let gone = StagedFile {
        sha256: "0".repeat(64),
        file_name: "gone.pdf".into(),
        mime_type: "application/pdf".into(),
        size: 1,
    };
    let err = engine
        .caixa
        .send_message(html_conv.id, "x", false, &[gone])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("gone.pdf"), "{err}");
    let err = engine
        .caixa
        .stage_file(servers.dir.path().join("missing.txt"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a readable file"), "{err}");
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn very_large_attachment_stays_on_server_until_opened() {
    let servers = MailServers::start();
    let engine = Engine::start(&servers, true).await;
    let inbox = add_inbox(&engine, &servers).await;
    wait_state(&engine, inbox.inbox.id, |s| *s == InboxState::Connected).await;

    // 5 MB of incompressible-looking bytes: a mail of ~6.8 MB once base64-encoded.
    let video: Vec<u8> = (0..5_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let small: Vec<u8> = b"small file kept with the mail".to_vec();
    customer_sends(
        &servers,
        from_customer(&servers)
            .subject("Vídeo do defeito")
            .multipart(
                MultiPart::mixed()
                    .multipart(MultiPart::alternative_plain_html(
                        "O vídeo mostra o defeito.".to_string(),
                        "<p>O vídeo mostra o <b>defeito</b>.</p>".to_string(),
                    ))
                    .singlepart(
                        Attachment::new("defeito.mp4".into())
                            .body(video.clone(), ContentType::parse("video/mp4").unwrap()),
                    )
                    .singlepart(
                        Attachment::new("nota.txt".into())
                            .body(small.clone(), ContentType::parse("text/plain").unwrap()),
                    ),
            )
            .unwrap(),
    )
    .await;
    let row = wait_for("the large mail", Duration::from_secs(20), || async {
        conversations(&engine).await.into_iter().next()
    })
    .await;
    let m = &engine.caixa.list_messages(row.id).await.unwrap()[0];
    assert_eq!(m.content.trim(), "O vídeo mostra o defeito.");
    assert!(m.has_html);
    let big = m
        .attachments
        .iter()
        .find(|a| a.file_name == "defeito.mp4")
        .expect("the video is listed");
    assert!(big.on_server, "the video should stay on the server");
    let estimate = big.size as f64 / video.len() as f64;
    assert!(
        (0.95..1.05).contains(&estimate),
        "size estimate {}",
        big.size
    );
    let note = m
        .attachments
        .iter()
        .find(|a| a.file_name == "nota.txt")
        .expect("the small file is listed");
    assert!(!note.on_server);
    assert_eq!(
        std::fs::read(engine.caixa.attachment_file(note.id).await.unwrap()).unwrap(),
        small
    );
    let on_disk = engine
        .count("SELECT COUNT(*) FROM attachments WHERE sha256 = ''")
        .await;
    assert_eq!(on_disk, 1, "only the video is left on the server");

    // Opening it downloads just that part, once.
    let path = engine.caixa.attachment_file(big.id).await.unwrap();
    assert_eq!(path.file_name().unwrap(), "defeito.mp4");
    assert!(
        std::fs::read(&path).unwrap() == video,
        "downloaded bytes differ"
    );
    let m = &engine.caixa.list_messages(row.id).await.unwrap()[0];
    let big = m
        .attachments
        .iter()
        .find(|a| a.file_name == "defeito.mp4")
        .unwrap();
    assert!(!big.on_server);
    assert_eq!(big.size, video.len() as i64);
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_and_uidvalidity_reset_lose_and_repeat_nothing() {
    let servers = MailServers::start();
    let engine = Engine::start(&servers, true).await;
    let inbox = add_inbox(&engine, &servers).await;
    let id = inbox.inbox.id;
    wait_state(&engine, id, |s| *s == InboxState::Connected).await;
    for i in 0..3 {
        customer_sends(
            &servers,
            simple_mail(
                &servers,
                format!("Before outage {i}"),
                format!("message {i}"),
            ),
        )
        .await;
    }
    wait_count(
        &engine,
        "3 messages",
        "SELECT count(*) FROM messages WHERE kind = 'incoming'",
        3,
        Duration::from_secs(10),
    )
    .await;

    // The server goes away: the inbox says so in words.
    servers.stop();
    let state = wait_state(&engine, id, |s| matches!(s, InboxState::Error { .. })).await;
    let InboxState::Error { reason } = state else {
        unreachable!()
    };
    assert!(!reason.is_empty());
    println!("outage shown as: {reason}");

    // A reply written while the server is down stays queued, says why, and is not failed.
    let conversation = conversations(&engine).await[0].id;
    let offline_reply = engine
        .caixa
        .send_message(conversation, "Written while offline", false, &[])
        .await
        .unwrap();
    let waiting = wait_for(
        "the offline reply to wait",
        Duration::from_secs(15),
        || async {
            let m = engine.caixa.get_message(offline_reply.id).await.ok()?;
            m.error.is_some().then_some(m)
        },
    )
    .await;
    assert_eq!(
        waiting.delivery,
        Some(Delivery::Queued),
        "{:?}",
        waiting.error
    );
    assert!(waiting
        .error
        .unwrap()
        .contains("waiting for the connection"));

    // It comes back: the worker reconnects on its own (backoff is seconds here), mail that
    // arrived meanwhile is fetched once, and the queued reply goes out.
    servers.restart();
    customer_sends(
        &servers,
        simple_mail(&servers, "After outage", "back".to_string()),
    )
    .await;
    wait_count(
        &engine,
        "the mail sent after the outage",
        "SELECT count(*) FROM messages WHERE kind = 'incoming'",
        4,
        Duration::from_secs(40),
    )
    .await;
    wait_state(&engine, id, |s| *s == InboxState::Connected).await;
    wait_maildir(
        &servers,
        &servers.s("CUSTOMER_USER"),
        "",
        "Written while offline",
    )
    .await;
    assert_eq!(
        engine
            .caixa
            .get_message(offline_reply.id)
            .await
            .unwrap()
            .delivery,
        Some(Delivery::Sent)
    );

    // The server renumbers INBOX: a clean resync, deduplicated by Message-ID.
    let before = engine
        .caixa
        .store()
        .read(move |c| Ok(caixa_core::store::email::folder_state(c, id, "INBOX")?.unwrap()))
        .await
        .unwrap();
    servers.reset_uidvalidity(&servers.s("SUPPORT_USER"));
    customer_sends(
        &servers,
        simple_mail(&servers, "After reset", "new".to_string()),
    )
    .await;
    wait_for(
        "the mail sent after the reset",
        Duration::from_secs(40),
        || async {
            let after = engine
                .caixa
                .store()
                .read(move |c| caixa_core::store::email::folder_state(c, id, "INBOX"))
                .await
                .ok()??;
            (after.uid_validity != before.uid_validity
                && engine
                    .count("SELECT count(*) FROM messages WHERE kind = 'incoming'")
                    .await
                    == 5)
                .then_some(())
        },
    )
    .await;
    assert_eq!(conversations(&engine).await.len(), 5);
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_untrusted_certificate_are_named() {
    let servers = MailServers::start();
    let trusting = Engine::start(&servers, true).await;
    let report = trusting
        .caixa
        .test_email_connection(settings(&servers), Some("wrong".into()), None)
        .await
        .unwrap();
    let imap = report.imap_error.expect("IMAP must refuse");
    let smtp = report.smtp_error.expect("SMTP must refuse");
    assert!(imap.contains("refused the login"), "{imap}");
    assert!(smtp.contains("refused the login"), "{smtp}");

    let ok = trusting
        .caixa
        .test_email_connection(settings(&servers), Some(servers.s("SUPPORT_PASS")), None)
        .await
        .unwrap();
    assert_eq!(
        ok,
        ConnectionReport {
            imap_error: None,
            smtp_error: None
        }
    );

    let strict = Engine::start(&servers, false).await;
    let report = strict
        .caixa
        .test_email_connection(settings(&servers), Some(servers.s("SUPPORT_PASS")), None)
        .await
        .unwrap();
    assert!(report.imap_error.unwrap().contains("not trusted"));
    assert!(report.smtp_error.unwrap().contains("not trusted"));

    // A saved inbox with a wrong password shows the error and does not retry in a loop.
    let inbox = trusting
        .caixa
        .add_inbox(InboxInput {
            name: "Wrong".into(),
            settings: InboxSettings::Email(settings(&servers)),
            password: Some("wrong".into()),
            webhook_secret: None,
        })
        .await
        .unwrap();
    let state = wait_state(&trusting, inbox.inbox.id, |s| {
        matches!(s, InboxState::Error { .. })
    })
    .await;
    assert!(matches!(&state, InboxState::Error { reason } if reason.contains("refused the login")));
    let log_file = servers.dir.path().join("log/dovecot.log");
    let failures = || {
        std::fs::read_to_string(&log_file)
            .unwrap_or_default()
            .matches("auth failed")
            .count()
    };
    let before = failures();
    assert!(before >= 1, "the failed login is not in Dovecot's log");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        before,
        failures(),
        "the worker keeps retrying a wrong password"
    );
    trusting.stop().await;
    strict.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_sync_in_batches_and_restart_repeats_nothing() {
    // More than two sync batches (250 each).
    const N: usize = 600;
    let servers = MailServers::start();
    let corpus = servers.dir.path().join("corpus");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts");
    let gen = std::process::Command::new("python3")
        .arg(format!("{script}/bench/gen_mail_corpus.py"))
        .arg(&corpus)
        .arg(N.to_string())
        .status()
        .unwrap();
    assert!(gen.success());
    let mut files: Vec<String> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .collect();
    files.sort();
    servers.deliver(&servers.s("SUPPORT_USER"), &files);

    let secrets = Secrets::memory();
    let engine = Engine::start_in(
        &servers,
        true,
        tempfile::tempdir().unwrap(),
        secrets.clone(),
    )
    .await;
    let inbox = add_inbox(&engine, &servers).await;
    let id = inbox.inbox.id;
    wait_count(
        &engine,
        "every message stored",
        "SELECT count(*) FROM messages",
        N as i64,
        Duration::from_secs(60),
    )
    .await;
    wait_state(&engine, id, |s| *s == InboxState::Connected).await;
    let threads = engine.count("SELECT count(*) FROM conversations").await;
    assert!(
        threads < N as i64 && threads > 0,
        "replies did not join their threads: {threads}"
    );
    // Newest first: the first stored message is the newest one of the mailbox.
    let first_stored_is_newest = engine
        .count(
            "SELECT (SELECT e.uid FROM email_messages e ORDER BY e.message_id LIMIT 1)
                  = (SELECT max(uid) FROM email_messages)",
        )
        .await;
    assert_eq!(first_stored_is_newest, 1);
    let attachments = engine.count("SELECT count(*) FROM attachments").await;
    assert!(attachments > 0);

    // Restart on the same store: nothing fetched twice, nothing lost.
    let dir = engine.stop_keep_data().await;
    let engine = Engine::start_in(&servers, true, dir, secrets).await;
    wait_state(&engine, id, |s| *s == InboxState::Connected).await;
    customer_sends(
        &servers,
        simple_mail(&servers, "After restart", "hello".to_string()),
    )
    .await;
    wait_count(
        &engine,
        "the new mail after the restart",
        "SELECT count(*) FROM messages",
        N as i64 + 1,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        engine
            .count("SELECT count(*) - count(DISTINCT source_id) FROM messages")
            .await,
        0
    );
    engine.stop().await;
}

/// Another mail client (Python's imaplib) sets `\Seen`: CONDSTORE brings the change, the
/// conversation reads as read here too. Mail already read on the server is not unread here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_read_in_another_client_reads_here() {
    let servers = MailServers::start();
    // Read before Caixa ever saw it.
    customer_sends(
        &servers,
        simple_mail(&servers, "Old and read", "old".to_string()),
    )
    .await;
    let imap_store = |query: &str| {
        let script = r#"
import imaplib, ssl, sys
port, ca, user, pw, query = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=ca)
m = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx)
m.login(user, pw)
m.select("INBOX")
typ, data = m.uid("SEARCH", None, query)
for uid in data[0].split():
    m.uid("STORE", uid, "+FLAGS", "(\\Seen)")
m.logout()
"#;
        let out = std::process::Command::new("python3")
            .args(["-c", script])
            .arg(servers.port("IMAPS_PORT").to_string())
            .arg(servers.ca_cert())
            .arg(servers.s("SUPPORT_USER"))
            .arg(servers.s("SUPPORT_PASS"))
            .arg(query)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    wait_for(
        "the first mail in the mailbox",
        Duration::from_secs(10),
        || async { (!servers.maildir(&servers.s("SUPPORT_USER"), "").is_empty()).then_some(()) },
    )
    .await;
    imap_store("ALL");

    let engine = Engine::start(&servers, true).await;
    let inbox = add_inbox(&engine, &servers).await;
    wait_state(&engine, inbox.inbox.id, |s| *s == InboxState::Connected).await;
    let old = wait_for("the old mail", Duration::from_secs(10), || async {
        conversations(&engine).await.into_iter().next()
    })
    .await;
    assert_eq!(
        old.unread_count, 0,
        "mail read on the server came in unread"
    );

    customer_sends(
        &servers,
        simple_mail(&servers, "New question", "new".to_string()),
    )
    .await;
    let new = wait_for("the new mail", Duration::from_secs(10), || async {
        conversations(&engine)
            .await
            .into_iter()
            .find(|c| c.preview.contains("New question"))
    })
    .await;
    assert_eq!(new.unread_count, 1);
    imap_store("UNSEEN");
    wait_for(
        "read elsewhere → read here",
        Duration::from_secs(10),
        || async {
            let c = engine.caixa.get_conversation(new.id).await.ok()?;
            (c.unread_count == 0).then_some(())
        },
    )
    .await;
    engine.stop().await;
}

/// Broken mail from the wild, delivered straight into the mailbox: each one is stored readably
/// or skipped with a logged reason; the sync neither panics nor stops, and good mail after
/// the broken ones still arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_mail_is_stored_readably_or_skipped() {
    let servers = MailServers::start();
    let long_header = format!("Subject: {}\r\n", "x".repeat(100_000));
    let corpus: Vec<(&str, Vec<u8>)> = vec![
        ("broken-boundary", b"From: a@x.test\r\nSubject: broken boundary\r\nMessage-ID: <m1@x.test>\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nunterminated part".to_vec()),
        ("bad-base64", b"From: b@x.test\r\nSubject: bad base64\r\nMessage-ID: <m2@x.test>\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n".to_vec()),
        ("no-headers", b"just a body without any header at all\r\n".to_vec()),
        ("8bit-headers", b"From: \xe9\xff <c@x.test>\r\nSubject: caf\xe9 \xff\r\nMessage-ID: <m3@x.test>\r\n\r\nbody \xe9\r\n".to_vec()),
        ("huge-header", [b"From: d@x.test\r\nMessage-ID: <m4@x.test>\r\n".to_vec(), long_header.into_bytes(), b"\r\nbody\r\n".to_vec()].concat()),
        ("no-from", b"Subject: nobody sent this\r\nMessage-ID: <m5@x.test>\r\n\r\nwho?\r\n".to_vec()),
        ("good", b"From: Good <good@x.test>\r\nSubject: a good one\r\nMessage-ID: <good@x.test>\r\n\r\nfine\r\n".to_vec()),
    ];
    let mut files = Vec::new();
    for (name, raw) in &corpus {
        let path = servers.dir.path().join(format!("{name}.eml"));
        std::fs::write(&path, raw).unwrap();
        files.push(path.to_string_lossy().into_owned());
    }
    servers.deliver(&servers.s("SUPPORT_USER"), &files);
    let delivered = servers.maildir(&servers.s("SUPPORT_USER"), "").len();

    let engine = Engine::start(&servers, true).await;
    let inbox = add_inbox(&engine, &servers).await;
    wait_state(&engine, inbox.inbox.id, |s| *s == InboxState::Connected).await;
    let good = wait_for(
        "the good mail after the broken ones",
        Duration::from_secs(15),
        || async {
            conversations(&engine)
                .await
                .into_iter()
                .find(|c| c.preview.contains("a good one"))
        },
    )
    .await;
    assert_eq!(good.contact_name, "Good");
    let stored = engine.count("SELECT count(*) FROM messages").await as usize;
    println!("malformed corpus: {delivered} delivered, {stored} stored");
    assert!(
        stored >= corpus.len() - 1 && stored <= delivered,
        "{stored} of {delivered}"
    );
    // Everything stored reads as text.
    for row in conversations(&engine).await {
        for m in engine.caixa.list_messages(row.id).await.unwrap() {
            assert!(!m.content.is_empty());
        }
    }
    // Still connected: the broken mail did not put the inbox in an error loop.
    let views = engine.caixa.list_inboxes().await.unwrap();
    assert_eq!(views[0].state, InboxState::Connected);
    engine.stop().await;
}
