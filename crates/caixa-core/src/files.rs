//! Files attached to messages: staging the files of a reply and handing received ones to the
//! system's viewer (downloading a very large mail attachment the first time it is opened).

use std::path::{Path, PathBuf};

use crate::caixa::Caixa;
use crate::channels::email::large::{self, RemotePart};
use crate::error::{Error, Result};
use crate::model::{ChannelKind, ConversationId, CoreEvent, InboxSettings, StagedFile};
use crate::store::{attachments, conversations, inboxes};

/// Most mail servers refuse messages over 25 MB; the same cap keeps every channel predictable.
pub const MAX_REPLY_FILES_BYTES: i64 = 25 * 1024 * 1024;

/// Channels whose replies can carry files.
pub fn sends_files(kind: ChannelKind) -> bool {
    !matches!(kind, ChannelKind::Website | ChannelKind::Api)
}

/// Channels whose provider downloads reply files from a public link to the gateway.
pub fn files_by_link(kind: ChannelKind) -> bool {
    matches!(
        kind,
        ChannelKind::Twilio | ChannelKind::Line | ChannelKind::Instagram
    )
}

/// Why the channel's provider would refuse a file of this type, if it would.
pub fn refuses_file(kind: ChannelKind, mime: &str) -> Option<&'static str> {
    let image = matches!(mime, "image/jpeg" | "image/png");
    match kind {
        ChannelKind::Line if !image => Some("LINE bots can send only JPEG or PNG images."),
        ChannelKind::Instagram
            if !(image
                || mime == "image/gif"
                || mime == "video/mp4"
                || mime.starts_with("audio/")) =>
        {
            Some("Instagram takes only images, MP4 videos and audio.")
        }
        ChannelKind::X if !(image || matches!(mime, "image/gif" | "image/webp")) => {
            Some("Caixa sends X direct messages only images and GIFs.")
        }
        _ => None,
    }
}

impl Caixa {
    /// Why replies on `kind` cannot carry files as Caixa runs now (`None`: they can).
    pub fn files_refused(&self, kind: ChannelKind) -> Option<String> {
        if !sends_files(kind) {
            return Some(format!(
                "Replies in {} conversations cannot carry files yet.",
                kind.label()
            ));
        }
        if files_by_link(kind) {
            return crate::gateway::media::public_url_missing(self, kind);
        }
        None
    }

    /// Copies a file the agent picked into the attachment store, ready for `send_message`.
    pub async fn stage_file(&self, path: PathBuf) -> Result<StagedFile> {
        let data_dir = self.config().data_dir.clone();
        blocking(move || stage(&data_dir, &path)).await
    }

    /// Checks the staged files of a reply against the conversation's channel and the size cap,
    /// taking names and sizes from the store rather than trusting the caller.
    pub(crate) async fn check_reply_files(
        &self,
        conversation_id: ConversationId,
        files: &[StagedFile],
        private: bool,
    ) -> Result<Vec<StagedFile>> {
        if files.is_empty() {
            return Ok(Vec::new());
        }
        if !private {
            let kind = self
                .store()
                .read(move |c| {
                    let (inbox_id, _) = conversations::source(c, conversation_id)?;
                    Ok(inboxes::get(c, inbox_id)?.kind)
                })
                .await?;
            if let Some(why) = self.files_refused(kind) {
                return Err(Error::field("attachments", why));
            }
            if kind == ChannelKind::Line && files.len() > 4 {
                return Err(Error::field(
                    "attachments",
                    "LINE takes at most 4 images with a reply.",
                ));
            }
            if kind == ChannelKind::X && files.len() > 1 {
                return Err(Error::field(
                    "attachments",
                    "X sends one file per message: attach one, send, then the next.",
                ));
            }
            for f in files {
                if let Some(why) = refuses_file(kind, &f.mime_type) {
                    return Err(Error::field(
                        "attachments",
                        format!("{}: {why}", f.file_name),
                    ));
                }
            }
        }
        let data_dir = self.config().data_dir.clone();
        let files = files.to_vec();
        blocking(move || {
            let mut total = 0i64;
            let mut checked = Vec::with_capacity(files.len());
            for f in files {
                let valid_hash =
                    f.sha256.len() == 64 && f.sha256.bytes().all(|b| b.is_ascii_hexdigit());
                let meta = valid_hash
                    .then(|| std::fs::metadata(attachments::path_of(&data_dir, &f.sha256)).ok())
                    .flatten()
                    .ok_or_else(|| {
                        Error::field(
                            "attachments",
                            format!("{} is no longer available; attach it again.", f.file_name),
                        )
                    })?;
                total += meta.len() as i64;
                checked.push(StagedFile {
                    file_name: clean_name(&f.file_name),
                    size: meta.len() as i64,
                    ..f
                });
            }
            if total > MAX_REPLY_FILES_BYTES {
                return Err(too_big("These files"));
            }
            Ok(checked)
        })
        .await
    }

    /// A copy of an attachment under its own name (so the system opens it with the right
    /// app), in the data dir's `open/` folder. A file still on the mail server is downloaded
    /// first.
    pub async fn attachment_file(&self, attachment_id: i64) -> Result<PathBuf> {
        let (name, _mime, mut sha) = self
            .store()
            .read(move |c| attachments::get(c, attachment_id))
            .await?;
        if sha.is_empty() {
            sha = self.download_attachment(attachment_id).await?;
        }
        let data_dir = self.config().data_dir.clone();
        blocking(move || {
            let source = attachments::path_of(&data_dir, &sha);
            let dir = data_dir.join("open").join(attachment_id.to_string());
            std::fs::create_dir_all(&dir)?;
            let target = dir.join(if name.is_empty() { "attachment" } else { &name });
            if !target.exists() {
                std::fs::copy(&source, &target)?;
            }
            Ok(target)
        })
        .await
    }
}

impl Caixa {
    /// Fetches a file left on the mail server, stores it and returns its hash.
    async fn download_attachment(&self, attachment_id: i64) -> Result<String> {
        let (inbox_id, remote) = self
            .store()
            .read(move |c| attachments::remote_of(c, attachment_id))
            .await?
            .ok_or(Error::NotFound("attachment"))?;
        let part: RemotePart = serde_json::from_str(&remote)
            .map_err(|e| Error::Internal(format!("attachment location unreadable: {e}")))?;
        let inbox = self.get_inbox(inbox_id).await?;
        let InboxSettings::Email(settings) = inbox.settings else {
            return Err(Error::Internal(
                "a remote file outside an e-mail inbox".into(),
            ));
        };
        let password = self.inbox_secret(inbox_id).await?;
        let tls = self.tls().map_err(|e| Error::Unavailable(e.to_string()))?;
        let data = large::download(&settings, &tls, &password, &part)
            .await
            .map_err(|e| Error::Unavailable(format!("cannot download the file: {e}")))?;
        let data_dir = self.config().data_dir.clone();
        let size = data.len() as i64;
        let sha = blocking(move || attachments::save_file(&data_dir, &data)).await?;
        let stored = sha.clone();
        let (message_id, conversation_id) = self
            .store()
            .write(move |tx| {
                attachments::mark_downloaded(tx, attachment_id, &stored, size)?;
                attachments::message_of(tx, attachment_id)
            })
            .await?;
        self.events().emit(CoreEvent::MessageChanged {
            conversation_id,
            message_id,
        });
        Ok(sha)
    }
}

fn stage(data_dir: &Path, path: &Path) -> Result<StagedFile> {
    let meta = std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .ok_or_else(|| {
            Error::field(
                "attachments",
                format!("{} is not a readable file.", path.display()),
            )
        })?;
    let file_name = clean_name(
        &path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    if meta.len() as i64 > MAX_REPLY_FILES_BYTES {
        return Err(too_big(&file_name));
    }
    let data = std::fs::read(path).map_err(|e| {
        Error::field(
            "attachments",
            format!("{} cannot be read: {e}", path.display()),
        )
    })?;
    let sha256 = attachments::save_file(data_dir, &data)?;
    let mime_type = mime_guess::from_path(path)
        .first_or_octet_stream()
        .essence_str()
        .to_string();
    Ok(StagedFile {
        sha256,
        file_name,
        mime_type,
        size: data.len() as i64,
    })
}

/// A file name safe to put in a mail header and in a folder: no path, no control characters.
fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim().trim_start_matches('.');
    if cleaned.is_empty() {
        "attachment".to_string()
    } else {
        cleaned.to_string()
    }
}

fn too_big(what: &str) -> Error {
    Error::field(
        "attachments",
        format!(
            "{what} together are larger than {} MiB, more than most mail servers accept.",
            MAX_REPLY_FILES_BYTES / 1024 / 1024
        ),
    )
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::clean_name;

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\Users\\a\\report.pdf"), "report.pdf");
        assert_eq!(clean_name("in\u{7}voice\n.pdf"), "invoice.pdf");
        assert_eq!(clean_name(".."), "attachment");
        assert_eq!(clean_name(""), "attachment");
    }
}
