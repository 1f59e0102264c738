//! IMAP connection and the few commands sync needs, over async-imap.

use std::time::Duration;

use async_imap::types::NameAttribute;
use futures_util::TryStreamExt;

use super::error::MailError;
use super::net::{self, MailStream};
use super::tls::TlsSetup;
use crate::model::{MailSecurity, MailServer};

pub type Session = async_imap::Session<MailStream>;

/// Every command gets this long; IDLE has its own timer.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

pub async fn timed<T>(
    f: impl std::future::Future<Output = Result<T, async_imap::error::Error>>,
) -> Result<T, MailError> {
    tokio::time::timeout(COMMAND_TIMEOUT, f)
        .await
        .map_err(|_| MailError::Timeout)?
        .map_err(MailError::from)
}

/// Connects, secures (TLS or STARTTLS) and logs in.
pub async fn login(
    server: &MailServer,
    tls: &TlsSetup,
    username: &str,
    password: &str,
) -> Result<Session, MailError> {
    let host = server.host.as_str();
    if server.security == MailSecurity::Plain && !net::is_loopback(host) {
        return Err(MailError::Insecure(host.to_string()));
    }
    let tcp = net::tcp(host, server.port).await?;
    let client = match server.security {
        MailSecurity::Tls => {
            let mut c = async_imap::Client::new(net::tls(tls, host, tcp).await?);
            greeting(&mut c).await?;
            c
        }
        MailSecurity::StartTls => {
            let mut c = async_imap::Client::new(MailStream::Plain(tcp));
            greeting(&mut c).await?;
            timed(c.run_command_and_check_ok("STARTTLS", None))
                .await
                .map_err(|e| MailError::Tls {
                    host: host.to_string(),
                    detail: format!("the server did not accept STARTTLS ({e})"),
                })?;
            let MailStream::Plain(tcp) = c.into_inner() else {
                unreachable!("the stream was plain until now")
            };
            async_imap::Client::new(net::tls(tls, host, tcp).await?)
        }
        MailSecurity::Plain => {
            let mut c = async_imap::Client::new(MailStream::Plain(tcp));
            greeting(&mut c).await?;
            c
        }
    };
    match tokio::time::timeout(COMMAND_TIMEOUT, client.login(username, password)).await {
        Err(_) => Err(MailError::Timeout),
        Ok(Ok(session)) => Ok(session),
        Ok(Err((async_imap::error::Error::No(m), _))) => {
            Err(MailError::Auth(super::error::server_text(&m)))
        }
        Ok(Err((e, _))) => Err(e.into()),
    }
}

/// `Client::new` does not read the server's greeting; do it before the first command.
async fn greeting(c: &mut async_imap::Client<MailStream>) -> Result<(), MailError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, c.read_response()).await {
        Err(_) => Err(MailError::Timeout),
        Ok(Ok(Some(_))) => Ok(()),
        Ok(Ok(None)) => Err(MailError::Protocol(
            "the server closed the connection before greeting".into(),
        )),
        Ok(Err(e)) => Err(MailError::Protocol(format!("no IMAP greeting: {e}"))),
    }
}

/// The folder where sent mail goes: SPECIAL-USE `\Sent`, else a usual name.
pub async fn find_sent(session: &mut Session) -> Result<Option<String>, MailError> {
    let names: Vec<_> = timed(async {
        let stream = session.list(Some(""), Some("*")).await?;
        stream.try_collect::<Vec<_>>().await
    })
    .await?;
    if let Some(n) = names.iter().find(|n| {
        n.attributes()
            .iter()
            .any(|a| matches!(a, NameAttribute::Sent))
    }) {
        return Ok(Some(n.name().to_string()));
    }
    const USUAL: [&str; 5] = [
        "Sent",
        "Sent Items",
        "Sent Messages",
        "INBOX.Sent",
        "Enviados",
    ];
    Ok(USUAL
        .iter()
        .find_map(|u| names.iter().find(|n| n.name().eq_ignore_ascii_case(u)))
        .map(|n| n.name().to_string()))
}

/// Opens a folder for sync, with CONDSTORE when offered. A missing folder is named.
pub async fn select(
    session: &mut Session,
    folder: &str,
    condstore: bool,
) -> Result<async_imap::types::Mailbox, MailError> {
    let r = if condstore {
        timed(session.select_condstore(folder)).await
    } else {
        timed(session.select(folder)).await
    };
    r.map_err(|e| match e {
        MailError::Protocol(m) if m.starts_with("the server refused") => {
            MailError::MailboxNotFound(folder.to_string())
        }
        other => other,
    })
}

pub async fn has_capability(session: &mut Session, cap: &str) -> Result<bool, MailError> {
    let caps = timed(session.capabilities()).await?;
    Ok(caps.has_str(cap))
}
