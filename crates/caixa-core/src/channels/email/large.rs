//! Very large mails: their big files stay on the server until the agent opens them.
//!
//! A mail over [`LARGE_MAIL_BYTES`] is fetched as its BODYSTRUCTURE, its header and only the
//! parts worth having at once (text, HTML, small files). From those pieces the mail is put back
//! together with each big file's body left empty and an `X-Caixa-Remote` header saying where it
//! lives, so the one MIME parser handles it like any other mail. Opening such a file later
//! fetches just that part ([`download`]).

use async_imap::imap_proto::{BodyStructure, ContentEncoding, MessageSection, SectionPath};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};

use super::error::MailError;
use super::imap::{self, timed, Session};
use super::tls::TlsSetup;
use crate::model::EmailSettings;

/// Mails larger than this are fetched piece by piece.
pub const LARGE_MAIL_BYTES: u32 = 4 << 20;
/// In a large mail, files larger than this stay on the server.
pub const REMOTE_PART_BYTES: u32 = 512 << 10;
/// The marker header on a part whose body was left on the server:
/// `<section> <encoding> <size on the server>`.
pub const REMOTE_HEADER: &str = "X-Caixa-Remote";

/// Where a file left on the server lives (stored as JSON with the attachment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemotePart {
    pub folder: String,
    pub uid_validity: u32,
    pub uid: u32,
    /// IMAP section path, e.g. `2` or `1.3`.
    pub section: String,
    /// Content-Transfer-Encoding of the part, to decode it after download.
    pub encoding: String,
}

/// The shape of a mail, owned, with each node's IMAP section path.
#[derive(Debug)]
enum Node {
    Multipart {
        section: Vec<u32>,
        boundary: String,
        children: Vec<Node>,
    },
    Leaf {
        section: Vec<u32>,
        /// Left on the server: its transfer encoding and encoded size.
        remote: Option<(String, u32)>,
    },
}

/// One fetched large mail, put back together (see the module doc), or `None` when its
/// structure is unusual enough that fetching it whole is the safe choice.
pub struct Assembled {
    pub raw: Vec<u8>,
    pub seen: bool,
    pub internal: Option<i64>,
}

pub async fn fetch(s: &mut Session, uid: u32) -> Result<Option<Assembled>, MailError> {
    let first: Vec<_> = timed(async {
        let stream = s
            .uid_fetch(uid.to_string(), "(UID FLAGS INTERNALDATE BODYSTRUCTURE)")
            .await?;
        stream.try_collect().await
    })
    .await?;
    let Some(f) = first.into_iter().find(|f| f.uid == Some(uid)) else {
        return Ok(None);
    };
    let seen = f
        .flags()
        .any(|fl| matches!(fl, async_imap::types::Flag::Seen));
    let internal = f.internal_date().map(|d| d.timestamp_millis());
    let Some(root) = f.bodystructure().and_then(|b| plan(b, Vec::new(), true)) else {
        return Ok(None);
    };
    let Node::Multipart { .. } = root else {
        return Ok(None);
    };
    let mut items = vec!["BODY.PEEK[HEADER]".to_string()];
    wanted_sections(&root, &mut items);
    let query = format!("(UID {})", items.join(" "));
    let parts: Vec<_> = timed(async {
        let stream = s.uid_fetch(uid.to_string(), &query).await?;
        stream.try_collect().await
    })
    .await?;
    let Some(p) = parts.into_iter().find(|f| f.uid == Some(uid)) else {
        return Ok(None);
    };
    let Some(header) = p.header() else {
        return Ok(None);
    };
    let mut raw = header.to_vec();
    if !assemble(&root, &p, &mut raw) {
        return Ok(None);
    }
    Ok(Some(Assembled {
        raw,
        seen,
        internal,
    }))
}

/// Builds the owned tree. Text bodies are always fetched; other leaves over
/// [`REMOTE_PART_BYTES`] stay remote.
fn plan(b: &BodyStructure<'_>, section: Vec<u32>, top: bool) -> Option<Node> {
    match b {
        BodyStructure::Multipart { common, bodies, .. } => {
            let boundary = common
                .ty
                .params
                .as_ref()?
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
                .map(|(_, v)| v.to_string())?;
            let children = bodies
                .iter()
                .enumerate()
                .map(|(i, child)| {
                    let mut s = section.clone();
                    s.push(i as u32 + 1);
                    plan(child, s, false)
                })
                .collect::<Option<Vec<_>>>()?;
            Some(Node::Multipart {
                section,
                boundary,
                children,
            })
        }
        _ if top => Some(Node::Leaf {
            section,
            remote: None,
        }),
        BodyStructure::Text { .. } => Some(Node::Leaf {
            section,
            remote: None,
        }),
        BodyStructure::Basic { other, .. } | BodyStructure::Message { other, .. } => {
            let remote = (other.octets > REMOTE_PART_BYTES)
                .then(|| (encoding_name(&other.transfer_encoding), other.octets));
            Some(Node::Leaf { section, remote })
        }
    }
}

fn trim_line_ends(mut b: &[u8]) -> &[u8] {
    while let Some(rest) = b.strip_suffix(b"\n") {
        b = rest.strip_suffix(b"\r").unwrap_or(rest);
    }
    b
}

fn encoding_name(e: &ContentEncoding<'_>) -> String {
    match e {
        ContentEncoding::SevenBit => "7bit".into(),
        ContentEncoding::EightBit => "8bit".into(),
        ContentEncoding::Binary => "binary".into(),
        ContentEncoding::Base64 => "base64".into(),
        ContentEncoding::QuotedPrintable => "quoted-printable".into(),
        ContentEncoding::Other(o) => o.to_string(),
    }
}

fn dotted(section: &[u32]) -> String {
    section
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

fn wanted_sections(node: &Node, items: &mut Vec<String>) {
    match node {
        Node::Multipart {
            section, children, ..
        } => {
            if !section.is_empty() {
                items.push(format!("BODY.PEEK[{}.MIME]", dotted(section)));
            }
            for c in children {
                wanted_sections(c, items);
            }
        }
        Node::Leaf { section, remote } => {
            items.push(format!("BODY.PEEK[{}.MIME]", dotted(section)));
            if remote.is_none() {
                items.push(format!("BODY.PEEK[{}]", dotted(section)));
            }
        }
    }
}

/// Appends the body of `node` (its header is already in `out`). False when a piece is missing.
fn assemble(node: &Node, f: &async_imap::types::Fetch, out: &mut Vec<u8>) -> bool {
    match node {
        Node::Multipart {
            boundary, children, ..
        } => {
            for c in children {
                let section = match c {
                    Node::Multipart { section, .. } | Node::Leaf { section, .. } => section,
                };
                let Some(mime) = f.section(&SectionPath::Part(
                    section.clone(),
                    Some(MessageSection::Mime),
                )) else {
                    return false;
                };
                out.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
                out.extend_from_slice(trim_line_ends(mime));
                if let Node::Leaf {
                    remote: Some((enc, octets)),
                    ..
                } = c
                {
                    let marker = format!("\r\n{REMOTE_HEADER}: {} {enc} {octets}", dotted(section));
                    out.extend_from_slice(marker.as_bytes());
                }
                out.extend_from_slice(b"\r\n\r\n");
                if !assemble(c, f, out) {
                    return false;
                }
            }
            out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            true
        }
        Node::Leaf {
            remote: Some(_), ..
        } => true,
        Node::Leaf { section, .. } => match f.section(&SectionPath::Part(section.clone(), None)) {
            Some(body) => {
                out.extend_from_slice(body);
                true
            }
            None => false,
        },
    }
}

/// Downloads one file left on the server and returns its decoded bytes.
pub async fn download(
    settings: &EmailSettings,
    tls: &TlsSetup,
    password: &str,
    part: &RemotePart,
) -> Result<Vec<u8>, MailError> {
    let mut s = imap::login(&settings.imap, tls, &settings.username, password).await?;
    let mailbox = imap::select(&mut s, &part.folder, false).await?;
    if mailbox.uid_validity != Some(part.uid_validity) {
        return Err(MailError::MailboxNotFound(format!(
            "{} was renumbered on the server; the file will be available after the next sync",
            part.folder
        )));
    }
    let query = format!("(UID BODY.PEEK[{}])", part.section);
    let fetched: Vec<_> = timed(async {
        let stream = s.uid_fetch(part.uid.to_string(), &query).await?;
        stream.try_collect().await
    })
    .await?;
    let _ = timed(s.logout()).await;
    let path: Vec<u32> = part
        .section
        .split('.')
        .filter_map(|n| n.parse().ok())
        .collect();
    let body = fetched
        .iter()
        .find(|f| f.uid == Some(part.uid))
        .and_then(|f| f.section(&SectionPath::Part(path.clone(), None)))
        .ok_or_else(|| {
            MailError::MailboxNotFound(format!(
                "the mail holding this file is no longer in {}",
                part.folder
            ))
        })?;
    Ok(decode(body, &part.encoding))
}

/// Decodes a part body with the one MIME parser, by wrapping it in a minimal message.
pub fn decode(body: &[u8], encoding: &str) -> Vec<u8> {
    let mut wrapped = format!(
        "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n"
    )
    .into_bytes();
    wrapped.extend_from_slice(body);
    mail_parser::MessageParser::default()
        .parse(&wrapped)
        .and_then(|m| m.part(0).map(|p| p.contents().to_vec()))
        .unwrap_or_else(|| body.to_vec())
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn decodes_transfer_encodings() {
        assert_eq!(
            decode(b"aGVsbG8g\r\nd29ybGQ=\r\n", "base64"),
            b"hello world"
        );
        assert_eq!(decode(b"caf=C3=A9", "quoted-printable"), "café".as_bytes());
        assert_eq!(decode(b"plain", "7bit"), b"plain");
    }
}
