//! Replies over SMTP (lettre, rustls): threaded under the customer's mail, then a copy is
//! appended to the Sent folder so the mailbox shows what Caixa sent.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::error::MailError;
use super::net;
use super::tls::TlsSetup;
use crate::model::{EmailSettings, MailSecurity};
use crate::store::email::ReplyContext;

/// A reply ready to send: the raw bytes (for APPEND) and its Message-ID (without `<>`).
pub struct Outgoing {
    pub message: Message,
    pub message_id: String,
}

/// A file to attach: name, mime type, bytes.
pub struct FilePart {
    pub name: String,
    pub mime_type: String,
    pub data: Vec<u8>,
}

/// Builds the reply to `ctx` from the inbox address: `Re:` subject, In-Reply-To and
/// References for threading, text and HTML alternatives, then the files.
pub fn build_reply(
    settings: &EmailSettings,
    ctx: &ReplyContext,
    text: &str,
    files: Vec<FilePart>,
) -> Result<Outgoing, String> {
    let from: Mailbox = format!(
        "{} <{}>",
        settings.display_name.replace(['<', '>', '"'], ""),
        settings.address
    )
    .parse()
    .or_else(|_| settings.address.parse())
    .map_err(|e| format!("the inbox address is not valid: {e}"))?;
    let to: Mailbox = ctx
        .reply_to
        .parse()
        .map_err(|e| format!("the customer's address {} is not valid: {e}", ctx.reply_to))?;
    let domain = settings.address.rsplit('@').next().unwrap_or("caixa.local");
    let message_id = format!("{}@{domain}", crate::inbox_config::new_visitor_token());
    let subject = match ctx.subject.as_deref().map(str::trim) {
        Some(s) if s.len() >= 3 && s[..3].eq_ignore_ascii_case("re:") => s.to_string(),
        Some(s) if !s.is_empty() => format!("Re: {s}"),
        _ => "Re: your message".to_string(),
    };
    let mut references = ctx.references.clone();
    if !references.contains(&ctx.rfc_message_id) {
        references.push(ctx.rfc_message_id.clone());
    }
    let refs = references
        .iter()
        .map(|r| format!("<{r}>"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .message_id(Some(format!("<{message_id}>")))
        .in_reply_to(format!("<{}>", ctx.rfc_message_id))
        .references(refs);
    // Reply-all keeps the other people the customer copied, never ourselves.
    let own = settings.address.to_ascii_lowercase();
    for cc in ctx.cc.iter().chain(ctx.to.iter()) {
        if cc.eq_ignore_ascii_case(&own) || cc.eq_ignore_ascii_case(&ctx.reply_to) {
            continue;
        }
        if let Ok(m) = cc.parse::<Mailbox>() {
            builder = builder.cc(m);
        }
    }
    let body = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(text.to_string()),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(text_to_html(text)),
        );
    let body = if files.is_empty() {
        body
    } else {
        files
            .into_iter()
            .fold(MultiPart::mixed().multipart(body), |m, f| {
                let mime = ContentType::parse(&f.mime_type)
                    .unwrap_or_else(|_| ContentType::parse("application/octet-stream").unwrap());
                m.singlepart(Attachment::new(f.name).body(f.data, mime))
            })
    };
    let message = builder
        .multipart(body)
        .map_err(|e| format!("cannot build the e-mail: {e}"))?;
    Ok(Outgoing {
        message,
        message_id,
    })
}

fn text_to_html(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    format!(
        "<!doctype html><html><body><div style=\"white-space:pre-wrap\">{escaped}</div></body></html>"
    )
}

fn transport(
    settings: &EmailSettings,
    tls: &TlsSetup,
    password: &str,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let server = &settings.smtp;
    if server.security == MailSecurity::Plain && !net::is_loopback(&server.host) {
        return Err(MailError::Insecure(server.host.clone()));
    }
    let mut params = TlsParameters::builder(server.host.clone());
    for pem in tls.extra_pem.iter() {
        let cert = Certificate::from_pem(pem).map_err(|e| MailError::Tls {
            host: server.host.clone(),
            detail: format!("bad extra certificate: {e}"),
        })?;
        params = params.add_root_certificate(cert);
    }
    let params = params.build_rustls().map_err(|e| MailError::Tls {
        host: server.host.clone(),
        detail: e.to_string(),
    })?;
    let mode = match server.security {
        MailSecurity::Tls => Tls::Wrapper(params),
        MailSecurity::StartTls => Tls::Required(params),
        MailSecurity::Plain => Tls::None,
    };
    Ok(
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.host.clone())
            .port(server.port)
            .tls(mode)
            .credentials(Credentials::new(
                settings.username.clone(),
                password.to_string(),
            ))
            .timeout(Some(Duration::from_secs(30)))
            .build(),
    )
}

/// Names an SMTP failure and says whether retrying later can help.
pub fn classify(settings: &EmailSettings, e: &lettre::transport::smtp::Error) -> (MailError, bool) {
    let host = settings.smtp.host.clone();
    let text = e.to_string();
    if e.is_tls() || text.contains("certificate") {
        let io = std::io::Error::other(text);
        return (
            MailError::Tls {
                host,
                detail: super::error::describe_tls(&io),
            },
            false,
        );
    }
    if let Some(code) = e.status() {
        let code_str = code.to_string();
        if code_str.starts_with("535") || code_str.starts_with("534") || code_str.starts_with("530")
        {
            return (MailError::Auth(format!("SMTP {text}")), false);
        }
        if e.is_permanent() {
            return (
                MailError::Protocol(format!("the mail server refused the message: {text}")),
                false,
            );
        }
        return (
            MailError::Protocol(format!("the mail server is busy: {text}")),
            true,
        );
    }
    if e.is_timeout() {
        return (MailError::Timeout, true);
    }
    if text.contains("failed to lookup") || text.contains("resolve") {
        return (MailError::Dns { host, detail: text }, true);
    }
    (
        MailError::Connect {
            host,
            port: settings.smtp.port,
            detail: text,
        },
        true,
    )
}

/// Sends; `Err((reason, transient))`.
pub async fn send(
    settings: &EmailSettings,
    tls: &TlsSetup,
    password: &str,
    out: &Outgoing,
) -> Result<(), (MailError, bool)> {
    let transport = transport(settings, tls, password).map_err(|e| (e, false))?;
    transport
        .send(out.message.clone())
        .await
        .map(|_| ())
        .map_err(|e| classify(settings, &e))
}

/// Connects and logs in without sending anything.
pub async fn check(
    settings: &EmailSettings,
    tls: &TlsSetup,
    password: &str,
) -> Result<(), MailError> {
    // Resolve first so a wrong host name reads as a DNS problem, not a generic one.
    net::resolve(&settings.smtp.host, settings.smtp.port).await?;
    let transport = transport(settings, tls, password)?;
    match transport.test_connection().await {
        Ok(true) => Ok(()),
        Ok(false) => Err(MailError::Protocol(
            "the SMTP server did not answer NOOP".into(),
        )),
        Err(e) => Err(classify(settings, &e).0),
    }
}
