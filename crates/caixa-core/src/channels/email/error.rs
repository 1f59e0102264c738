//! What can go wrong talking to a mail server, in words an agent can act on.

/// A failure reaching, securing or using an IMAP or SMTP server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    #[error("cannot find the server {host} (DNS): {detail}")]
    Dns { host: String, detail: String },
    #[error("cannot connect to {host}:{port}: {detail}")]
    Connect {
        host: String,
        port: u16,
        detail: String,
    },
    #[error("secure connection to {host} failed (TLS): {detail}")]
    Tls { host: String, detail: String },
    #[error("the server refused the login (check the username and password): {0}")]
    Auth(String),
    #[error("the mailbox \"{0}\" was not found on the server")]
    MailboxNotFound(String),
    #[error("an unencrypted connection is only allowed to this computer; choose TLS or STARTTLS for {0}")]
    Insecure(String),
    #[error("the server did not answer in time")]
    Timeout,
    #[error("{0}")]
    Protocol(String),
}

impl MailError {
    /// Errors that will not go away by retrying soon: the settings (or the server's
    /// certificate) must change first, so the worker waits long instead of hammering.
    pub fn needs_user(&self) -> bool {
        matches!(
            self,
            MailError::Dns { .. }
                | MailError::Tls { .. }
                | MailError::Auth(_)
                | MailError::MailboxNotFound(_)
                | MailError::Insecure(_)
        )
    }
}

/// async-imap renders a server's NO as `code: …, info: Some("text")`: keep the text.
pub(crate) fn server_text(m: &str) -> String {
    let Some(start) = m.find("info: Some(\"") else {
        return m.to_string();
    };
    let rest = &m[start + 12..];
    match rest.rfind("\")") {
        Some(end) => rest[..end].replace("\\\"", "\""),
        None => m.to_string(),
    }
}

impl From<async_imap::error::Error> for MailError {
    fn from(e: async_imap::error::Error) -> Self {
        use async_imap::error::Error as E;
        match e {
            E::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => MailError::Timeout,
            E::Io(io) => MailError::Protocol(format!("connection error: {io}")),
            E::ConnectionLost => MailError::Protocol("the server closed the connection".into()),
            E::No(m) => MailError::Protocol(format!("the server refused: {}", server_text(&m))),
            E::Bad(m) => MailError::Protocol(format!("the server rejected a command: {m}")),
            other => MailError::Protocol(other.to_string()),
        }
    }
}

/// Turns rustls' certificate complaints into a sentence.
pub(crate) fn describe_tls(e: &std::io::Error) -> String {
    let text = e.to_string();
    if text.contains("UnknownIssuer") || text.contains("BadSignature") {
        "the server's certificate is not trusted (self-signed or from an unknown authority)".into()
    } else if text.contains("NotValidForName") {
        "the server's certificate is for a different host name".into()
    } else if text.contains("Expired") {
        "the server's certificate has expired".into()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn server_text_is_extracted() {
        assert_eq!(
            super::server_text(
                r#"code: None, info: Some("[AUTHENTICATIONFAILED] Authentication failed.")"#
            ),
            "[AUTHENTICATIONFAILED] Authentication failed."
        );
        assert_eq!(super::server_text("plain"), "plain");
    }
}
