//! Raw RFC 5322 bytes → what Caixa stores, with mail-parser. Never panics on bad input: a
//! message it cannot make sense of is an `Err` with a reason the sync logs before skipping.

use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

use super::{html, large};

/// Longest text body kept in the thread (and the search index); the rest is cut with a mark.
pub const MAX_TEXT_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct ParsedMail {
    /// Message-ID without `<>`; synthesized from the content when the header is missing, so
    /// the same message is still recognized on the next sync.
    pub message_id: String,
    pub in_reply_to: Vec<String>,
    /// Oldest first, as in the header.
    pub references: Vec<String>,
    pub subject: Option<String>,
    pub from_name: Option<String>,
    pub from_addr: Option<String>,
    pub reply_to: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// Unix ms from the Date header, if it has a sane one.
    pub date: Option<i64>,
    pub text: String,
    /// The HTML body as received. Untrusted: only ever shown through html::display_document.
    pub html: Option<String>,
    pub attachments: Vec<ParsedAttachment>,
    /// Auto-replies, bounces and other machine mail: stored, but they do not reopen.
    pub auto_reply: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParsedAttachment {
    pub file_name: String,
    pub mime_type: String,
    pub content_id: Option<String>,
    pub size: usize,
    /// Emptied once the bytes are on disk.
    pub data: Vec<u8>,
    /// Left on the server (a big file of a very large mail): `(section, encoding)`.
    pub remote: Option<(String, String)>,
}

pub fn parse(raw: &[u8]) -> Result<ParsedMail, String> {
    if raw.is_empty() {
        return Err("empty message".into());
    }
    let msg = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| "not an RFC 5322 message".to_string())?;

    let message_id = msg
        .message_id()
        .map(clean_id)
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| synthesized_id(raw));
    let in_reply_to = ids(msg.in_reply_to());
    let references = ids(msg.references());
    let (from_name, from_addr) = first_addr(msg.from());
    let reply_to = first_addr(msg.reply_to()).1;
    let date = msg
        .date()
        .map(|d| d.to_timestamp() * 1000)
        .filter(|&ms| ms > 0);

    // mail-parser also offers text-only mail as (converted) HTML: only a real text/html part
    // counts as an HTML body.
    let html_raw = msg
        .html_part(0)
        .filter(|p| p.is_text_html())
        .and_then(|p| p.text_contents())
        .map(str::to_string);
    let mut text = match msg.body_text(0) {
        Some(t) => t.into_owned(),
        None => String::new(),
    };
    if text.trim().is_empty() {
        if let Some(h) = &html_raw {
            text = html::to_text(h);
        }
    }
    truncate(&mut text, MAX_TEXT_BYTES);
    // Kept as received: every display sanitizes it (html::display_document), so sanitizing
    // here too would only slow down the first sync.
    let html = html_raw;

    let mut attachments = Vec::new();
    for part in msg.attachments() {
        let mime_type = part
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub),
                None => ct.ctype().to_string(),
            })
            .unwrap_or_else(|| "application/octet-stream".into())
            .to_ascii_lowercase();
        let content_id = part.content_id().map(clean_id);
        let file_name = part
            .attachment_name()
            .map(sanitize_file_name)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| {
                if mime_type == "message/rfc822" {
                    "message.eml".into()
                } else {
                    "attachment".into()
                }
            });
        let remote = part
            .headers()
            .iter()
            .find(|h| h.name.as_str().eq_ignore_ascii_case(large::REMOTE_HEADER))
            .and_then(|h| h.value.as_text())
            .and_then(|v| {
                let mut words = v.split_whitespace();
                let (section, encoding) = (words.next()?, words.next()?);
                let octets: usize = words.next()?.parse().ok()?;
                Some((section.to_string(), encoding.to_string(), octets))
            });
        let size = match &remote {
            // The decoded size is only known after download: estimate it from the raw size.
            // Base64 lines are 76 characters plus CRLF for 57 bytes.
            Some((_, enc, octets)) if enc.eq_ignore_ascii_case("base64") => octets / 78 * 57,
            Some((_, _, octets)) => *octets,
            None => part.contents().len(),
        };
        let remote = remote.map(|(section, encoding, _)| (section, encoding));
        attachments.push(ParsedAttachment {
            file_name,
            mime_type,
            content_id,
            size,
            data: if remote.is_some() {
                Vec::new()
            } else {
                part.contents().to_vec()
            },
            remote,
        });
    }

    let auto_reply = is_automatic(&msg);
    Ok(ParsedMail {
        message_id,
        in_reply_to,
        references,
        subject: msg.subject().map(|s| s.trim().to_string()),
        from_name,
        from_addr,
        reply_to,
        to: addrs(msg.to()),
        cc: addrs(msg.cc()),
        date,
        text,
        html,
        attachments,
        auto_reply,
    })
}

/// RFC 3834 `Auto-Submitted`, delivery reports (RFC 3462) and the common vendor headers.
fn is_automatic(msg: &mail_parser::Message<'_>) -> bool {
    let header = |name: &str| msg.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
    if header("Auto-Submitted").is_some_and(|v| !v.starts_with("no")) {
        return true;
    }
    if header("X-Autoreply").is_some() || header("X-Autorespond").is_some() {
        return true;
    }
    if header("Precedence").is_some_and(|v| matches!(v.as_str(), "auto_reply" | "bulk" | "junk")) {
        return true;
    }
    msg.root_part().content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    })
}

fn ids(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![clean_id(t)],
        HeaderValue::TextList(list) => list.iter().map(|t| clean_id(t)).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect()
}

/// Message-IDs are compared without angle brackets or surrounding blanks.
pub fn clean_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

fn synthesized_id(raw: &[u8]) -> String {
    format!("{}@caixa.invalid", hex::encode(&Sha256::digest(raw)[..16]))
}

fn first_addr(a: Option<&Address<'_>>) -> (Option<String>, Option<String>) {
    let Some(first) = a.and_then(|a| a.first()) else {
        return (None, None);
    };
    (
        first
            .name()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty()),
        first.address().map(|a| a.trim().to_ascii_lowercase()),
    )
}

fn addrs(a: Option<&Address<'_>>) -> Vec<String> {
    a.map(|a| {
        a.iter()
            .filter_map(|x| x.address())
            .map(|x| x.trim().to_ascii_lowercase())
            .collect()
    })
    .unwrap_or_default()
}

fn sanitize_file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .chars()
        .take(200)
        .collect()
}

pub fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("\n\n[… message shortened by Caixa]");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_headers_threading_and_charsets() {
        let raw = b"From: =?ISO-8859-1?Q?Jos=E9?= <Jose@Example.COM>\r\n\
To: support@acme.test\r\nCc: a@x.test, b@x.test\r\n\
Subject: =?UTF-8?B?T2zDoSwgcHJlY2lzbyBkZSBhanVkYQ==?=\r\n\
Message-ID: <abc@x.test>\r\nIn-Reply-To: <root@acme.test>\r\n\
References: <first@acme.test> <root@acme.test>\r\n\
Date: Tue, 3 Nov 2026 10:00:00 +0000\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
Ol=E1, n=E3o consigo entrar.\r\n";
        let m = parse(raw).unwrap();
        assert_eq!(m.message_id, "abc@x.test");
        assert_eq!(m.in_reply_to, ["root@acme.test"]);
        assert_eq!(m.references, ["first@acme.test", "root@acme.test"]);
        assert_eq!(m.subject.as_deref(), Some("Olá, preciso de ajuda"));
        assert_eq!(m.from_name.as_deref(), Some("José"));
        assert_eq!(m.from_addr.as_deref(), Some("jose@example.com"));
        assert_eq!(m.cc, ["a@x.test", "b@x.test"]);
        assert_eq!(m.text.trim(), "Olá, não consigo entrar.");
        assert_eq!(m.date, Some(1_793_700_000_000));
        assert!(!m.auto_reply);
        assert_eq!(m.html, None, "a text-only mail has no HTML body");
    }

    #[test]
    fn recognizes_machine_mail() {
        let auto = b"From: a@x.test\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\nAway\r\n";
        assert!(parse(auto).unwrap().auto_reply);
        let human = b"From: a@x.test\r\nAuto-Submitted: no\r\n\r\nHi\r\n";
        assert!(!parse(human).unwrap().auto_reply);
        let bounce = b"From: MAILER-DAEMON@x.test\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nFailed\r\n--b--\r\n";
        assert!(parse(bounce).unwrap().auto_reply);
    }

    #[test]
    fn missing_message_id_is_stable() {
        let raw = b"From: a@x.test\r\nSubject: no id\r\n\r\nbody\r\n";
        let a = parse(raw).unwrap();
        assert_eq!(a.message_id, parse(raw).unwrap().message_id);
        assert!(a.message_id.ends_with("@caixa.invalid"));
    }

    #[test]
    fn malformed_input_never_panics() {
        let long_header = format!("Subject: {}\r\n\r\nx", "a".repeat(200_000));
        let corpus: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"\r\n\r\n".to_vec(),
            b"garbage without headers".to_vec(),
            b"From: a@x.test\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nunterminated".to_vec(),
            b"From: a@x.test\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n".to_vec(),
            b"From: \xff\xfe\xe9 <a@x.test>\r\nSubject: \xe9t\xe9\r\n\r\n\xe9\r\n".to_vec(),
            long_header.into_bytes(),
            vec![0u8; 4096],
        ];
        for raw in corpus {
            let _ = parse(&raw);
        }
    }
}
