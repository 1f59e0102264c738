//! What the Meta Graph API fakes (WhatsApp Cloud API, Messenger/Instagram) share: the Graph
//! error shape, access tokens, versioned paths, parameters and webhook signatures.

use axum::response::Response;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};

use crate::failure::Failure;
use crate::recorder::Recorded;
use crate::{ids, multipart, server};

/// `X-Hub-Signature-256` of a webhook body: `sha256=` + hex HMAC-SHA256 keyed with the app
/// secret, as Meta signs webhook POSTs.
pub fn sign(app_secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(app_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The query parameters of Meta's webhook verification GET:
/// `hub.mode=subscribe`, `hub.challenge` (to be echoed back) and `hub.verify_token`.
pub fn verify_challenge_params(verify_token: &str, challenge: &str) -> Vec<(String, String)> {
    vec![
        ("hub.mode".into(), "subscribe".into()),
        ("hub.challenge".into(), challenge.into()),
        ("hub.verify_token".into(), verify_token.into()),
    ]
}

pub(crate) fn fbtrace_id() -> String {
    format!("A{}", ids::urlsafe(22))
}

/// The Graph error object: `{"error":{"message","type","code","error_subcode"?,
/// "error_data"?,"fbtrace_id"}}`.
pub(crate) fn error_body(
    code: i64,
    message: &str,
    kind: &str,
    subcode: Option<i64>,
    error_data: Option<Value>,
) -> Value {
    let mut error = json!({"message": message, "type": kind, "code": code});
    if let Some(data) = error_data {
        error["error_data"] = data;
    }
    if let Some(subcode) = subcode {
        error["error_subcode"] = json!(subcode);
    }
    error["fbtrace_id"] = json!(fbtrace_id());
    json!({ "error": error })
}

pub(crate) fn error(
    status: u16,
    code: i64,
    message: &str,
    kind: &str,
    subcode: Option<i64>,
    error_data: Option<Value>,
) -> Response {
    server::json(
        status,
        &error_body(code, message, kind, subcode, error_data),
    )
}

/// A [`Failure::Raw`] carrying a Graph error, for the ready-made failures.
pub(crate) fn failure(
    status: u16,
    code: i64,
    message: &str,
    kind: &str,
    subcode: Option<i64>,
    error_data: Option<Value>,
) -> Failure {
    Failure::Raw {
        status,
        content_type: "application/json".into(),
        body: error_body(code, message, kind, subcode, error_data)
            .to_string()
            .into_bytes(),
    }
}

pub(crate) fn missing_token() -> Response {
    error(
        400,
        104,
        "An access token is required to request this resource.",
        "OAuthException",
        None,
        None,
    )
}

pub(crate) fn invalid_token() -> Response {
    let mut response = error(
        401,
        190,
        "Invalid OAuth access token - Cannot parse access token",
        "OAuthException",
        None,
        None,
    );
    server::set_header(
        &mut response,
        "www-authenticate",
        "OAuth \"Facebook Platform\" \"invalid_token\" \"Invalid OAuth access token - Cannot parse access token\"",
    );
    response
}

/// What Graph answers for an id it does not know (or may not show this token).
pub(crate) fn unknown_object(method: &str, id: &str) -> Response {
    error(
        400,
        100,
        &format!(
            "Unsupported {} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
            method.to_ascii_lowercase()
        ),
        "GraphMethodException",
        Some(33),
        None,
    )
}

pub(crate) fn invalid_parameter(message: &str) -> Response {
    error(400, 100, message, "OAuthException", None, None)
}

/// Renders the common [`Failure`] variants; `rate_limited` builds the provider's throttle
/// answer.
pub(crate) fn render_failure(
    failure: &Failure,
    rate_limited: impl Fn(u64) -> Response,
) -> Response {
    match failure {
        Failure::RateLimited { retry_after_secs } => rate_limited(*retry_after_secs),
        Failure::Unauthorized => invalid_token(),
        Failure::ServerError => error(
            500,
            2,
            "An unexpected error has occurred. Please retry your request later.",
            "OAuthException",
            None,
            None,
        ),
        Failure::Status {
            status,
            code,
            message,
        } => error(*status, *code, message, "OAuthException", None, None),
        Failure::Raw {
            status,
            content_type,
            body,
        } => server::raw(*status, content_type, body),
    }
}

/// The access token: `Authorization: Bearer|OAuth …`, or an `access_token` query or form
/// parameter (Graph accepts all three).
pub(crate) fn access_token(request: &Recorded) -> Option<String> {
    if let Some(header) = request.header("authorization") {
        if let Some((scheme, token)) = header.trim().split_once(' ') {
            if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth") {
                return Some(token.trim().to_owned());
            }
        }
    }
    let from_query = request
        .query_pairs()
        .into_iter()
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v);
    from_query.or_else(|| {
        is_form(request)
            .then(|| request.body_form())
            .and_then(|form| form.into_iter().find(|(k, _)| k == "access_token"))
            .map(|(_, v)| v)
    })
}

fn is_form(request: &Recorded) -> bool {
    request.header("content-type").is_some_and(|ct| {
        ct.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    })
}

/// Path segments with the optional leading `vNN.N` version removed (unversioned calls go to
/// the oldest available version in Graph; the fakes treat every version alike).
pub(crate) fn segments(path: &str) -> Vec<String> {
    let mut segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(crate::text::percent_decode)
        .collect();
    let is_version = segments.first().is_some_and(|s| {
        s.strip_prefix('v').is_some_and(|v| {
            v.split_once('.').is_some_and(|(major, minor)| {
                !major.is_empty()
                    && !minor.is_empty()
                    && major.bytes().all(|b| b.is_ascii_digit())
                    && minor.bytes().all(|b| b.is_ascii_digit())
            })
        })
    });
    if is_version {
        segments.remove(0);
    }
    segments
}

/// Request parameters from the query string, a form or a JSON object body. Form values that
/// hold JSON objects or arrays are decoded, since Graph accepts nested parameters that way.
/// Errors come boxed: `Response` is large and the error is the cold path.
pub(crate) fn params(request: &Recorded) -> Result<Map<String, Value>, Box<Response>> {
    let mut map = Map::new();
    for (k, v) in request.query_pairs() {
        map.insert(k, Value::String(v));
    }
    let content_type = request.header("content-type").unwrap_or("").to_owned();
    let lower = content_type.to_ascii_lowercase();
    if request.body.is_empty() {
        return Ok(map);
    }
    if lower.starts_with("application/json") {
        match serde_json::from_slice::<Value>(&request.body) {
            Ok(Value::Object(object)) => map.extend(object),
            _ => {
                return Err(Box::new(invalid_parameter(
                    "(#100) The parameter body could not be parsed as JSON",
                )))
            }
        }
    } else if lower.starts_with("application/x-www-form-urlencoded") {
        for (k, v) in request.body_form() {
            map.insert(k, decode_nested(v));
        }
    } else if lower.starts_with("multipart/form-data") {
        let parts = multipart::boundary(&content_type)
            .and_then(|b| multipart::parse(&request.body, &b).ok())
            .ok_or_else(|| {
                Box::new(invalid_parameter("(#100) Invalid multipart/form-data body"))
            })?;
        for part in parts.into_iter().filter(|p| p.file_name.is_none()) {
            map.insert(
                part.name,
                decode_nested(String::from_utf8_lossy(&part.data).into_owned()),
            );
        }
    }
    Ok(map)
}

fn decode_nested(value: String) -> Value {
    let trimmed = value.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Ok(v) = serde_json::from_str(&value) {
            return v;
        }
    }
    Value::String(value)
}

/// The file parts of a multipart body.
pub(crate) fn files(request: &Recorded) -> Vec<multipart::Part> {
    let content_type = request.header("content-type").unwrap_or("");
    multipart::boundary(content_type)
        .and_then(|b| multipart::parse(&request.body, &b).ok())
        .map(|parts| {
            parts
                .into_iter()
                .filter(|p| p.file_name.is_some())
                .collect()
        })
        .unwrap_or_default()
}

/// A Graph `fields` expression (`a,b{c,d},e.limit(5){f}`) split at top-level commas into
/// `(name, modifiers, subfields)`.
pub(crate) fn parse_fields(fields: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in fields.chars().chain(std::iter::once(',')) {
        match c {
            '{' | '(' => {
                depth += 1;
                current.push(c);
            }
            '}' | ')' => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            ',' if depth == 0 => {
                let field = current.trim().to_owned();
                current.clear();
                if field.is_empty() {
                    continue;
                }
                let (head, sub) = match field.find('{') {
                    Some(i) => (
                        field[..i].to_owned(),
                        field[i + 1..]
                            .strip_suffix('}')
                            .unwrap_or(&field[i + 1..])
                            .to_owned(),
                    ),
                    None => (field.clone(), String::new()),
                };
                let (name, modifiers) = match head.find('.') {
                    Some(i) => (head[..i].to_owned(), head[i + 1..].to_owned()),
                    None => (head, String::new()),
                };
                out.push((name, modifiers, sub));
            }
            c => current.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_expressions_split_at_top_level() {
        let parsed = parse_fields("id,messages.limit(2){message,from{id}},updated_time");
        assert_eq!(
            parsed,
            vec![
                ("id".into(), "".into(), "".into()),
                (
                    "messages".into(),
                    "limit(2)".into(),
                    "message,from{id}".into()
                ),
                ("updated_time".into(), "".into(), "".into()),
            ]
        );
    }

    #[test]
    fn versions_are_stripped_from_paths() {
        assert_eq!(segments("/v21.0/123/messages"), vec!["123", "messages"]);
        assert_eq!(segments("/123"), vec!["123"]);
        assert_eq!(segments("/vx.1/123"), vec!["vx.1", "123"]);
    }

    #[test]
    fn signature_is_prefixed_hex_hmac_sha256() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), the RFC 4231-style
        // vector published on Wikipedia's HMAC page.
        assert_eq!(
            sign("key", b"The quick brown fox jumps over the lazy dog"),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }
}
