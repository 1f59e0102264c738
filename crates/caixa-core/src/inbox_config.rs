//! Validation of inbox settings (field by field, so the UI can show each message in place) and
//! generation of tokens and secrets.

use rand::distr::{Alphanumeric, SampleString};

use crate::error::{Error, Result};
use crate::model::{FieldError, InboxInput, InboxSettings};

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
    };
    if errors.is_empty() {
        Ok(InboxInput { name, settings })
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
            name: "Shop".into(),
            settings: InboxSettings::Api(ApiSettings {
                webhook_url: Some("javascript:alert(1)".into()),
            }),
        };
        assert_eq!(fields(validate(&api).unwrap_err()), ["webhook_url"]);
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
