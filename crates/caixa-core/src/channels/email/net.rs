//! Reaching a mail server: DNS, TCP, TLS, with each failure named for what it is.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;

use super::error::{describe_tls, MailError};
use super::tls::TlsSetup;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A connection that is plain or TLS; IMAP sessions run over either after STARTTLS.
#[derive(Debug)]
pub enum MailStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for MailStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MailStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_flush(cx),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MailStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MailStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// True for `localhost` and loopback addresses: the only hosts plain connections may reach.
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

pub async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, MailError> {
    let dns = |detail: String| MailError::Dns {
        host: host.to_string(),
        detail,
    };
    let addrs: Vec<SocketAddr> =
        tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| dns("no answer in time".into()))?
            .map_err(|e| dns(e.to_string()))?
            .collect();
    if addrs.is_empty() {
        return Err(dns("no address for this name".into()));
    }
    Ok(addrs)
}

pub async fn tcp(host: &str, port: u16) -> Result<TcpStream, MailError> {
    let mut last = String::from("no address");
    for addr in resolve(host, port).await? {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Ok(Err(e)) => last = e.to_string(),
            Err(_) => last = "timed out".into(),
        }
    }
    Err(MailError::Connect {
        host: host.to_string(),
        port,
        detail: last,
    })
}

pub async fn tls(setup: &TlsSetup, host: &str, tcp: TcpStream) -> Result<MailStream, MailError> {
    let name = ServerName::try_from(host.trim_matches(|c| c == '[' || c == ']').to_string())
        .map_err(|e| MailError::Tls {
            host: host.to_string(),
            detail: format!("invalid host name: {e}"),
        })?;
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, setup.connector.connect(name, tcp))
        .await
        .map_err(|_| MailError::Timeout)?
        .map_err(|e| MailError::Tls {
            host: host.to_string(),
            detail: describe_tls(&e),
        })?;
    Ok(MailStream::Tls(Box::new(stream)))
}
