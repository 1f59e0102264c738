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
            t.api_base_url = optional_url(&t.api_base_url, &mut err);
            InboxSettings::Telegram(t)
        }
        InboxSettings::WhatsApp(w) => {
            let mut w = w.clone();
            w.phone_number_id = w.phone_number_id.trim().to_string();
            w.verify_token = w.verify_token.trim().to_string();
            if w.verify_token.is_empty() {
                w.verify_token = new_visitor_token();
            }
            if w.phone_number_id.is_empty()
                || !w.phone_number_id.bytes().all(|b| b.is_ascii_digit())
            {
                err(
                    "phone_number_id",
                    "Enter the phone number ID (digits) from Meta's WhatsApp API Setup page.",
                );
            }
            w.api_version = w
                .api_version
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string);
            if let Some(v) = &w.api_version {
                let ok = v.strip_prefix('v').is_some_and(|n| {
                    !n.is_empty()
                        && n.split('.')
                            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                });
                if !ok {
                    err("api_version", "Use a Graph API version like v21.0.");
                }
            }
            w.api_base_url = optional_url(&w.api_base_url, &mut err);
            InboxSettings::WhatsApp(w)
        }
        InboxSettings::Twilio(t) => {
            let mut t = t.clone();
            t.account_sid = t.account_sid.trim().to_string();
            t.number = t.number.trim().replace([' ', '-', '(', ')'], "");
            let sid_ok = t.account_sid.len() == 34
                && t.account_sid.starts_with("AC")
                && t.account_sid[2..].bytes().all(|b| b.is_ascii_hexdigit());
            if !sid_ok {
                err(
                    "account_sid",
                    "Enter the Account SID from the Twilio Console (AC followed by 32 characters).",
                );
            }
            let digits = t.number.strip_prefix("whatsapp:").unwrap_or(&t.number);
            let number_ok = digits.strip_prefix('+').is_some_and(|d| {
                (6..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit())
            });
            if !number_ok {
                err(
                    "number",
                    "Enter the Twilio number in international format, like +5511999990000 (or whatsapp:+5511999990000).",
                );
            }
            t.api_base_url = optional_url(&t.api_base_url, &mut err);
            InboxSettings::Twilio(t)
        }
        InboxSettings::Line(l) => {
            let mut l = l.clone();
            l.api_base_url = optional_url(&l.api_base_url, &mut err);
            InboxSettings::Line(l)
        }
        InboxSettings::X(x) => {
            let mut x = x.clone();
            if x.poll_seconds == Some(0) || x.poll_seconds.is_some_and(|s| s > 3600) {
                err("poll_seconds", "Poll between every 1 and 3600 seconds.");
            }
            x.api_base_url = optional_url(&x.api_base_url, &mut err);
            InboxSettings::X(x)
        }
        InboxSettings::Messenger(m) | InboxSettings::Instagram(m) => {
            let mut m = m.clone();
            m.page_id = m.page_id.trim().to_string();
            if m.page_id.is_empty() || !m.page_id.bytes().all(|b| b.is_ascii_digit()) {
                err(
                    "page_id",
                    "Enter the Facebook Page ID (digits; Page settings → About → Page transparency).",
                );
            }
            if m.poll_seconds == Some(0) || m.poll_seconds.is_some_and(|s| s > 3600) {
                err("poll_seconds", "Poll between every 1 and 3600 seconds.");
            }
            m.api_version = m
                .api_version
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string);
            m.api_base_url = optional_url(&m.api_base_url, &mut err);
            if matches!(input.settings, InboxSettings::Instagram(_)) {
                InboxSettings::Instagram(m)
            } else {
                InboxSettings::Messenger(m)
            }
        }
    };
    if errors.is_empty() {
        Ok(InboxInput {
            name,
            settings,
            password: input.password.clone(),
            webhook_secret: input.webhook_secret.clone(),
        })
    } else {
        Err(Error::Validation(errors))
    }
}

/// An optional advanced server address: trimmed, without a trailing `/`, empty = default.
fn optional_url(value: &Option<String>, err: &mut impl FnMut(&str, &str)) -> Option<String> {
    let url = value
        .as_deref()
        .map(|u| u.trim().trim_end_matches('/'))
        .filter(|u| !u.is_empty())?;
    if let Err(m) = http_url(url) {
        err("api_base_url", m);
    }
    Some(url.to_string())
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
            webhook_secret: None,
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
            webhook_secret: None,
        };
        assert_eq!(fields(validate(&api).unwrap_err()), ["webhook_url"]);
    }

    #[test]
    fn debug_never_shows_the_password() {
        let input = InboxInput {
            name: "Support".into(),
            settings: InboxSettings::Api(ApiSettings { webhook_url: None }),
            password: Some("hunter2-secret".into()),
            webhook_secret: None,
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
            webhook_secret: None,
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
