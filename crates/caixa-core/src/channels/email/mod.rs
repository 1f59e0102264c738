//! E-mail inboxes: IMAP receives (UID sync + IDLE push), SMTP sends threaded replies, and
//! Message-ID/References decide which conversation a mail belongs to.
//!
//! - [`net`], [`tls`]: reaching servers; [`imap`]: the IMAP commands used.
//! - [`parse`]: MIME → [`parse::ParsedMail`]; [`html`]: sanitizing and safe display.
//! - [`thread`]: storing one mail in the right conversation.
//! - [`worker`]: the per-inbox sync task; [`large`]: very large mails, whose big files stay
//!   on the server until opened; [`smtp`]: replies.

pub mod error;
pub mod html;
pub mod imap;
pub mod large;
pub mod net;
pub mod parse;
pub mod smtp;
pub mod thread;
pub mod tls;
pub mod worker;

use super::{SendError, Sent};
use crate::caixa::Caixa;
use crate::model::{ConnectionReport, Delivery, EmailSettings, InboxId, MessageId};
use crate::store::{email, messages};
pub use error::MailError;

/// Sends one queued reply of an e-mail conversation.
pub async fn send_reply(
    caixa: &Caixa,
    inbox_id: InboxId,
    settings: &EmailSettings,
    q: &messages::Queued,
) -> Result<Sent, SendError> {
    let conversation_id = q.conversation_id;
    let ctx = caixa
        .store()
        .read(move |c| email::reply_context(c, conversation_id))
        .await
        .map_err(|e| SendError::Transient(format!("cannot read the conversation: {e}")))?
        .ok_or_else(|| {
            SendError::Permanent(
                "this conversation has no e-mail from the customer to answer".into(),
            )
        })?;
    let password = caixa.inbox_secret(inbox_id).await.map_err(|e| {
        SendError::Transient(format!("cannot read the password from the keychain: {e}"))
    })?;
    let tls = caixa
        .tls()
        .map_err(|e| SendError::Permanent(e.to_string()))?;
    let files = reply_files(caixa, q.id).await?;
    let out = smtp::build_reply(settings, &ctx, &q.content, files).map_err(SendError::Permanent)?;
    smtp::send(settings, &tls, &password, &out)
        .await
        .map_err(|(e, transient)| match e {
            MailError::Connect { .. } | MailError::Dns { .. } | MailError::Timeout => {
                SendError::Offline(e.to_string())
            }
            _ if transient => SendError::Transient(e.to_string()),
            _ => SendError::Permanent(e.to_string()),
        })?;
    // Known by its Message-ID before the Sent copy exists, so syncing Sent never shows it twice
    // and the customer's answer (In-Reply-To: this id) finds the conversation.
    let (id, message_id) = (q.id, out.message_id.clone());
    let own = settings.address.to_ascii_lowercase();
    let subject = out.message.headers().get_raw("Subject").map(str::to_string);
    let refs: Vec<String> = ctx
        .references
        .iter()
        .cloned()
        .chain(std::iter::once(ctx.rfc_message_id.clone()))
        .collect();
    let to = vec![ctx.reply_to.clone()];
    caixa
        .store()
        .write(move |tx| {
            email::insert_meta(
                tx,
                id,
                inbox_id,
                &email::Meta {
                    rfc_message_id: &message_id,
                    subject: subject.as_deref(),
                    from_addr: Some(&own),
                    to: &to,
                    cc: &[],
                    in_reply_to: Some(&ctx.rfc_message_id),
                    references: &refs,
                    html: None,
                    folder: None,
                    uid: None,
                    auto_reply: false,
                    seen: true,
                },
            )?;
            messages::mark_sent(tx, id, Delivery::Sent, Some(&message_id))
        })
        .await
        .map_err(|e| SendError::Permanent(format!("sent, but not recorded: {e}")))?;
    let raw = out.message.formatted();
    let (settings, tls) = (settings.clone(), tls.clone());
    tokio::spawn(async move {
        if let Err(e) = append_to_sent(&settings, &tls, &password, &raw).await {
            tracing::warn!(inbox = inbox_id, "reply sent, but not copied to Sent: {e}");
        }
    });
    Ok(Sent {
        delivery: Delivery::Sent,
        source_id: Some(out.message_id),
    })
}

/// The files of a queued reply, read from the attachment store.
async fn reply_files(
    caixa: &Caixa,
    message_id: MessageId,
) -> Result<Vec<smtp::FilePart>, SendError> {
    let listed = super::reply_files(caixa, message_id).await?;
    let mut files = Vec::with_capacity(listed.len());
    for f in listed {
        let data = super::read_file(caixa, &f).await?;
        files.push(smtp::FilePart {
            name: f.file_name,
            mime_type: f.mime_type,
            data,
        });
    }
    Ok(files)
}

async fn append_to_sent(
    settings: &EmailSettings,
    tls: &tls::TlsSetup,
    password: &str,
    raw: &[u8],
) -> Result<(), MailError> {
    let mut s = imap::login(&settings.imap, tls, &settings.username, password).await?;
    let Some(sent) = imap::find_sent(&mut s).await? else {
        return Err(MailError::MailboxNotFound("Sent".into()));
    };
    imap::timed(s.append(&sent, Some("(\\Seen)"), None, raw)).await?;
    let _ = imap::timed(s.logout()).await;
    Ok(())
}

/// Checks both servers with these settings; each side says what failed, in plain words.
pub async fn test_connection(
    tls: &tls::TlsSetup,
    settings: &EmailSettings,
    password: &str,
) -> ConnectionReport {
    let imap_check = async {
        let mut s = imap::login(&settings.imap, tls, &settings.username, password).await?;
        imap::select(&mut s, "INBOX", false).await?;
        let _ = imap::timed(s.logout()).await;
        Ok::<(), MailError>(())
    };
    let (imap_result, smtp_result) = tokio::join!(imap_check, smtp::check(settings, tls, password));
    ConnectionReport {
        imap_error: imap_result.err().map(|e| e.to_string()),
        smtp_error: smtp_result.err().map(|e| e.to_string()),
    }
}
