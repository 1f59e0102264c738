//! Validation of inbox settings (field by field, so the UI can show each message in place) and
//! generation of tokens and secrets.

use rand::distr::{Alphanumeric, SampleString};

use crate::error::{Error, Result};
use crate::model::{FieldError, InboxInput, InboxSettings, MailSecurity, MailServer};

/// Returns the input with surrounding blanks trimmed, or every field error at once.
pub fn validate(input: &InboxInput) -> Result<InboxInput> {
    let mut errors = Vec::new();
    let mut err = |field: &str, message: &str| {
        errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        })
    };
    let name = input.name.trim().to_string();
    if name.is_empty() {
        err("name", "Give the inbox a name.");
    } else if name.chars().count() > 100 {
        err("name", "Use at most 100 characters.");
    }
    let settings = match &input.settings {
        InboxSettings::Website(w) => {
            let mut w = w.clone();
            w.website_url = w.website_url.trim().trim_end_matches('/').to_string();
            w.welcome_title = w.welcome_title.trim().to_string();
            w.welcome_text = w.welcome_text.trim().to_string();
            w.color = w.color.trim().to_lowercase();
            if w.website_url.is_empty() {
                err("website_url", "Enter the address of your website.");
            } else if let Err(m) = http_url(&w.website_url) {
                err("website_url", m);
            }
            if w.welcome_title.chars().count() > 200 {
                err("welcome_title", "Use at most 200 characters.");
            }
            if w.welcome_text.chars().count() > 1000 {
                err("welcome_text", "Use at most 1000 characters.");
            }
            if !is_hex_color(&w.color) {
                err("color", "Pick a colour like #1f6feb.");
            }
            InboxSettings::Website(w)
        }
        InboxSettings::Api(a) => {
            let mut a = a.clone();
            a.webhook_url = a
                .webhook_url
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            if let Some(url) = &a.webhook_url {
                if let Err(m) = http_url(url) {
                    err("webhook_url", m);
                }
            }
            InboxSettings::Api(a)
        }
        InboxSettings::Email(e) => {
            let mut e = e.clone();
            e.address = e.address.trim().to_lowercase();
            e.display_name = e.display_name.trim().to_string();
            e.username = e.username.trim().to_string();
            if !is_email_address(&e.address) {
                err("address", "Enter an e-mail address like support@acme.com.");
            }
            if e.username.is_empty() {
                e.username = e.address.clone();
            }
            for (prefix, server) in [("imap", &mut e.imap), ("smtp", &mut e.smtp)] {
                server.host = server.host.trim().trim_end_matches('.').to_lowercase();
                for (field, message) in check_server(server) {
                    errors.push(FieldError {
                        field: format!("{prefix}_{field}"),
                        message: message.into(),
                    });
                }
            }
            if e.lookback_days == Some(0) {
                e.lookback_days = None;
            }
            InboxSettings::Email(e)
        }
        InboxSettings::Telegram(t) => {
            let mut t = t.clone();
            t.api_base_url = t
                .api_base_url
                .as_deref()
                .map(|u| u.trim().trim_end_matches('/'))
                .filter(|u| !u.is_empty())
                .map(str::to_string);
            if let Some(url) = &t.api_base_url {
                if let Err(m) = http_url(url) {
                    err("api_base_url", m);
                }
            }
            InboxSettings::Telegram(t)
        }
    };
    if errors.is_empty() {
        Ok(InboxInput {
            name,
            settings,
            password: input.password.clone(),
        })
    } else {
        Err(Error::Validation(errors))
    }
}

fn http_url(s: &str) -> std::result::Result<url::Url, &'static str> {
    let url =
        url::Url::parse(s).map_err(|_| "Enter a full address starting with http:// or https://")?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("Only http:// and https:// addresses are supported.");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("The address needs a host name.");
    }
    Ok(url)
}

fn is_email_address(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && (domain.contains('.') || domain == "localhost")
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>' || c == ',')
}

fn check_server(server: &MailServer) -> Vec<(&'static str, &'static str)> {
    let mut errors = Vec::new();
    if server.host.is_empty() {
        errors.push(("host", "Enter the server name, like imap.example.com."));
    } else if server
        .host
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')))
    {
        errors.push((
            "host",
            "A server name has only letters, digits, dots and dashes.",
        ));
    }
    if server.port == 0 {
        errors.push(("port", "Enter the port number (1–65535)."));
    }
    if server.security == MailSecurity::Plain
        && !server.host.is_empty()
        && !crate::channels::email::net::is_loopback(&server.host)
    {
        errors.push((
            "security",
            "Unencrypted connections are only allowed to this computer; choose TLS or STARTTLS.",
        ));
    }
    errors
}

fn is_hex_color(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].chars().all(|c| c.is_ascii_hexdigit())
}

/// The browser origin (`scheme://host[:port]`) of a URL, as sent in an `Origin` header.
pub fn origin_of(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    match url.origin() {
        url::Origin::Tuple(..) => Some(url.origin().ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

/// Public inbox token: unguessable, URL-safe.
pub fn new_token() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 24)
}

/// Visitor token for the website widget.
pub fn new_visitor_token() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

/// Signing secret of an API inbox: 32 random bytes, hex.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ApiSettings, WebsiteSettings};

    fn website(url: &str, color: &str) -> InboxInput {
        InboxInput {
            password: None,
            name: " Acme ".into(),
            settings: InboxSettings::Website(WebsiteSettings {
                website_url: url.into(),
                welcome_title: "Hi".into(),
                welcome_text: "".into(),
                color: color.into(),
            }),
        }
    }

    fn fields(e: Error) -> Vec<String> {
        match e {
            Error::Validation(f) => f.into_iter().map(|f| f.field).collect(),
            other => panic!("expected validation error, got {other}"),
        }
    }

    #[test]
    fn accepts_and_normalizes() {
        let ok = validate(&website("https://acme.example/ ", "#1F6FEB")).unwrap();
        assert_eq!(ok.name, "Acme");
        let InboxSettings::Website(w) = ok.settings else {
            panic!()
        };
        assert_eq!(w.website_url, "https://acme.example");
        assert_eq!(w.color, "#1f6feb");
    }

    #[test]
    fn reports_every_bad_field() {
        let mut input = website("ftp://x", "blue");
        input.name = "".into();
        assert_eq!(
            fields(validate(&input).unwrap_err()),
            ["name", "website_url", "color"]
        );
        assert_eq!(
            fields(validate(&website("not a url", "#000000")).unwrap_err()),
            ["website_url"]
        );
        let api = InboxInput {
            password: None,
            name: "Shop".into(),
            settings: InboxSettings::Api(ApiSettings {
                webhook_url: Some("javascript:alert(1)".into()),
            }),
        };
        assert_eq!(fields(validate(&api).unwrap_err()), ["webhook_url"]);
    }

    #[test]
    fn debug_never_shows_the_password() {
        let input = InboxInput {
            name: "Support".into(),
            settings: InboxSettings::Api(ApiSettings { webhook_url: None }),
            password: Some("hunter2-secret".into()),
        };
        let shown = format!("{input:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn email_settings_are_checked() {
        use crate::model::EmailSettings;
        let server = |host: &str, port, security| MailServer {
            host: host.into(),
            port,
            security,
        };
        let input = |address: &str, imap: MailServer, smtp: MailServer| InboxInput {
            name: "Support".into(),
            settings: InboxSettings::Email(EmailSettings {
                address: address.into(),
                display_name: " Acme ".into(),
                imap,
                smtp,
                username: "".into(),
                lookback_days: Some(0),
                mark_seen: true,
            }),
            password: Some("pw".into()),
        };
        let ok = validate(&input(
            " Support@Acme.Example ",
            server("IMAP.acme.example", 993, MailSecurity::Tls),
            server("127.0.0.1", 2525, MailSecurity::Plain),
        ))
        .unwrap();
        let InboxSettings::Email(e) = ok.settings else {
            panic!()
        };
        assert_eq!(e.address, "support@acme.example");
        assert_eq!(e.username, "support@acme.example");
        assert_eq!(e.imap.host, "imap.acme.example");
        assert_eq!(e.lookback_days, None);
        assert_eq!(ok.password.as_deref(), Some("pw"));
        let bad = validate(&input(
            "not-an-address",
            server("", 0, MailSecurity::Tls),
            server("smtp.acme.example", 25, MailSecurity::Plain),
        ))
        .unwrap_err();
        assert_eq!(
            fields(bad),
            ["address", "imap_host", "imap_port", "smtp_security"]
        );
    }

    #[test]
    fn origin() {
        assert_eq!(
            origin_of("https://acme.example/path?q").as_deref(),
            Some("https://acme.example")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8787/x").as_deref(),
            Some("http://127.0.0.1:8787")
        );
    }

    #[test]
    fn tokens_are_random() {
        assert_ne!(new_token(), new_token());
        assert_eq!(new_secret().len(), 64);
    }
}
