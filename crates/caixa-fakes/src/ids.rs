//! Random identifiers shaped like each provider's.

use rand::Rng;

const HEX: &[u8] = b"0123456789abcdef";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const URLSAFE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn pick(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// Lower-case hex, e.g. the 32 characters after a Twilio SID prefix.
pub(crate) fn hex(len: usize) -> String {
    pick(HEX, len)
}

pub(crate) fn alnum(len: usize) -> String {
    pick(ALNUM, len)
}

/// URL-safe base64 alphabet, like Telegram file ids.
pub(crate) fn urlsafe(len: usize) -> String {
    pick(URLSAFE, len)
}

/// Decimal digits without a leading zero, like Graph object ids.
pub(crate) fn digits(len: usize) -> String {
    let mut rng = rand::rng();
    let mut s = rng.random_range(1..=9u8).to_string();
    s.push_str(&pick(b"0123456789", len.saturating_sub(1)));
    s
}
