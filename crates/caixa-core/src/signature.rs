//! The HMAC signature of the API channel, both directions:
//! `X-Caixa-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>` with the Unix
//! timestamp (seconds) in `X-Caixa-Timestamp`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const TIMESTAMP_HEADER: &str = "X-Caixa-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Caixa-Signature";
/// Requests older (or further in the future) than this are refused as replays.
pub const MAX_SKEW_SECS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value for `body` sent at `timestamp`.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-Caixa-Timestamp header")]
    MissingTimestamp,
    #[error("missing X-Caixa-Signature header")]
    MissingSignature,
    #[error("X-Caixa-Timestamp must be Unix seconds")]
    BadTimestamp,
    #[error("X-Caixa-Timestamp is more than 5 minutes away from now (replay?)")]
    Stale,
    #[error("X-Caixa-Signature must look like sha256=<64 hex digits>")]
    Malformed,
    #[error("signature does not match")]
    Mismatch,
}

/// Checks a request's signature in constant time, and its timestamp against `now_secs`.
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_secs: i64,
) -> Result<(), SignatureError> {
    let timestamp = timestamp.ok_or(SignatureError::MissingTimestamp)?.trim();
    let signature = signature.ok_or(SignatureError::MissingSignature)?.trim();
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    if (now_secs - ts).abs() > MAX_SKEW_SECS {
        return Err(SignatureError::Stale);
    }
    let hex_part = signature
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    let given = hex::decode(hex_part).map_err(|_| SignatureError::Malformed)?;
    if given.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    mac(secret, timestamp, body)
        .verify_slice(&given)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        // printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            sign("secret", "1700000000", br#"{"a":1}"#),
            "sha256=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
    }

    #[test]
    fn verify_accepts_own_signature_and_rejects_tampering() {
        let sig = sign("k", "1000", b"body");
        assert_eq!(verify("k", Some("1000"), Some(&sig), b"body", 1000), Ok(()));
        assert_eq!(
            verify("k", Some("1000"), Some(&sig), b"bodx", 1000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("other", Some("1000"), Some(&sig), b"body", 1000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("k", Some("1000"), Some(&sig), b"body", 1000 + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify("k", None, Some(&sig), b"body", 1000),
            Err(SignatureError::MissingTimestamp)
        );
        assert_eq!(
            verify("k", Some("1000"), None, b"body", 1000),
            Err(SignatureError::MissingSignature)
        );
        assert_eq!(
            verify("k", Some("1000"), Some("sha256=zz"), b"body", 1000),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify("k", Some("soon"), Some(&sig), b"body", 1000),
            Err(SignatureError::BadTimestamp)
        );
    }
}
