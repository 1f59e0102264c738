//! Public links to the files of our replies, for providers that fetch media from a URL
//! instead of taking an upload (Twilio, LINE, Instagram). A link names one attachment of an
//! outgoing message and carries an HMAC of it, keyed by a secret kept in the keychain, so
//! nobody can list or guess files; customers' files are never served.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::caixa::Caixa;
use crate::channels::SendError;
use crate::model::ChannelKind;
use crate::store::attachments::{self, OutFile};

const KEY_REF: &str = "gateway/media-key";
/// Hex digits of the HMAC kept in links (128 bits).
const SIG_HEX: usize = 32;

fn mac(key: &str, id: i64, sha256: &str) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(format!("{id}:{sha256}").as_bytes());
    mac
}

impl Caixa {
    /// The key that signs media links, created on first use.
    async fn media_key(&self) -> crate::Result<String> {
        self.inner
            .media_key
            .get_or_try_init(|| async {
                let secrets = &self.config().secrets;
                match secrets.get(KEY_REF).await {
                    Ok(k) => Ok(k),
                    Err(_) => {
                        let k = crate::inbox_config::new_secret();
                        secrets.set(KEY_REF, &k).await?;
                        Ok(k)
                    }
                }
            })
            .await
            .cloned()
    }
}

/// Why files cannot go out on `kind` from this computer as configured, if they cannot.
pub fn public_url_missing(caixa: &Caixa, kind: ChannelKind) -> Option<String> {
    (caixa.config().public_url.is_none()).then(|| {
        format!(
            "{} fetches files from a public address, and Caixa has none: start it with CAIXA_PUBLIC_URL set to the address where its gateway is reachable (reverse proxy or tunnel).",
            kind.label()
        )
    })
}

/// The public link to one file of a reply.
pub async fn link(caixa: &Caixa, kind: ChannelKind, file: &OutFile) -> Result<String, SendError> {
    if let Some(why) = public_url_missing(caixa, kind) {
        return Err(SendError::Permanent(why));
    }
    let base = caixa.config().public_url.clone().unwrap_or_default();
    let key = caixa
        .media_key()
        .await
        .map_err(|e| SendError::Transient(format!("cannot read the media key: {e}")))?;
    let sig = hex::encode(mac(&key, file.id, &file.sha256).finalize().into_bytes());
    let mut url = url::Url::parse(&base)
        .map_err(|_| SendError::Permanent(format!("CAIXA_PUBLIC_URL is not a URL: {base}")))?;
    url.path_segments_mut()
        .map_err(|_| SendError::Permanent(format!("CAIXA_PUBLIC_URL is not a URL: {base}")))?
        .pop_if_empty()
        .extend([
            "media",
            &file.id.to_string(),
            &sig[..SIG_HEX],
            &file.file_name,
        ]);
    Ok(url.to_string())
}

/// `GET /media/{id}/{sig}/{name}`: the file, when the signature matches.
pub async fn serve(
    State(caixa): State<Caixa>,
    Path((id, sig, _name)): Path<(i64, String, String)>,
) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "not found").into_response();
    let Ok(given) = hex::decode(&sig) else {
        return not_found();
    };
    if given.len() * 2 != SIG_HEX {
        return not_found();
    }
    let Ok(key) = caixa.media_key().await else {
        return (StatusCode::SERVICE_UNAVAILABLE, "media key unavailable").into_response();
    };
    let Ok(Some(file)) = caixa
        .store()
        .read(move |c| attachments::outgoing_file(c, id))
        .await
    else {
        return not_found();
    };
    if mac(&key, file.id, &file.sha256)
        .verify_truncated_left(&given)
        .is_err()
    {
        return not_found();
    }
    let path = attachments::path_of(&caixa.config().data_dir, &file.sha256);
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, file.mime_type),
                (header::CACHE_CONTROL, "private, max-age=86400".to_string()),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => not_found(),
    }
}
