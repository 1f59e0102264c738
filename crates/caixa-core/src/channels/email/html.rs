//! HTML mail is stored as received and sanitized on every display (ammonia: no scripts,
//! handlers, forms, styles or frames), wrapped in a document whose CSP blocks every load except
//! inline images, and remote images only after the agent allows them.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

pub fn to_text(html: &str) -> String {
    mail_parser::decoders::html::html_to_text(html)
}

/// The stored (sanitized) HTML as a standalone document for a sandboxed frame.
///
/// `inline` maps `cid:` references to `data:` URLs. Unless `allow_remote`, remote image
/// sources are removed and counted, so the UI can offer to load them.
pub fn display_document(
    sanitized: &str,
    inline: &[(String, String)],
    allow_remote: bool,
) -> (String, u32) {
    let blocked = Arc::new(AtomicU32::new(0));
    let counter = blocked.clone();
    let inline: Vec<(String, String)> = inline.to_vec();
    let body = ammonia::Builder::default()
        .add_url_schemes(["cid", "data"])
        .link_rel(Some("noopener noreferrer"))
        .attribute_filter(move |element, attribute, value| {
            if element != "img" || attribute != "src" {
                return Some(Cow::Borrowed(value));
            }
            let v = value.trim();
            if let Some(cid) = v.strip_prefix("cid:") {
                let cid = super::parse::clean_id(cid);
                return inline
                    .iter()
                    .find(|(id, _)| *id == cid)
                    .map(|(_, url)| Cow::Owned(url.clone()));
            }
            if v.starts_with("data:") || allow_remote {
                return Some(Cow::Borrowed(value));
            }
            counter.fetch_add(1, Ordering::Relaxed);
            None
        })
        .clean(sanitized)
        .to_string();
    let img_src = if allow_remote {
        "data: https: http:"
    } else {
        "data:"
    };
    let doc = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src {img_src}; style-src 'unsafe-inline'\">\
<base target=\"_blank\">\
<style>body{{font-family:system-ui,sans-serif;font-size:14px;line-height:1.45;margin:0;padding:8px;overflow-wrap:anywhere}}\
img{{max-width:100%;height:auto}}blockquote{{margin:0 0 0 .5em;padding-left:.6em;border-left:3px solid #ccc;color:#555}}</style>\
</head><body>{body}</body></html>"
    );
    (doc, blocked.load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_handlers_are_removed() {
        let dirty = r#"<p onclick="steal()">Hi<script>alert(1)</script></p>
<img src="x" onerror="alert(2)"><a href="javascript:alert(3)">x</a><iframe src="https://evil"></iframe>"#;
        let (clean, _) = display_document(dirty, &[], true);
        for bad in [
            "script",
            "onclick",
            "onerror",
            "javascript:",
            "iframe",
            "alert",
        ] {
            assert!(!clean.contains(bad), "{bad} survived: {clean}");
        }
        assert!(clean.contains("Hi"));
    }

    #[test]
    fn remote_images_wait_for_consent_and_cid_is_inlined() {
        let html = r#"<p>x</p><img src="https://tracker.example/p.gif"><img src="cid:logo@acme">"#;
        let inline = vec![(
            "logo@acme".to_string(),
            "data:image/png;base64,AAAA".to_string(),
        )];
        let (doc, blocked) = display_document(html, &inline, false);
        assert_eq!(blocked, 1);
        assert!(!doc.contains("tracker.example"));
        assert!(doc.contains("data:image/png;base64,AAAA"));
        assert!(doc.contains("default-src 'none'; img-src data:;"));
        let (doc, blocked) = display_document(html, &inline, true);
        assert_eq!(blocked, 0);
        assert!(doc.contains("https://tracker.example/p.gif"));
    }
}
