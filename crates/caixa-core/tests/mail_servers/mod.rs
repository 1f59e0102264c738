//! Real Dovecot + Postfix on loopback for tests, started by `scripts/mail-servers.sh` in a
//! temporary directory and stopped on drop.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

pub struct MailServers {
    pub dir: tempfile::TempDir,
    pub env: Value,
}

/// `scripts/mail-servers.sh` of the repository, found from whichever crate includes this file.
fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|d| d.join("scripts/mail-servers.sh"))
        .find(|p| p.exists())
        .expect("scripts/mail-servers.sh in a parent of the crate")
}

fn run(args: &[&str]) -> String {
    let out = Command::new("bash")
        .arg(script())
        .args(args)
        .output()
        .expect("run scripts/mail-servers.sh");
    assert!(
        out.status.success(),
        "mail-servers.sh {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl MailServers {
    pub fn start() -> MailServers {
        // Under /tmp: the mail user must be able to traverse the path.
        let dir = tempfile::Builder::new()
            .prefix("caixa-mail-")
            .tempdir_in("/tmp")
            .unwrap();
        let out = run(&["start", dir.path().to_str().unwrap()]);
        let last = out.lines().last().unwrap_or_default();
        let env: Value = serde_json::from_str(last).expect("env.json on the last line");
        MailServers { dir, env }
    }

    pub fn path(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }

    pub fn stop(&self) {
        run(&["stop", self.path()]);
    }

    pub fn restart(&self) {
        run(&["start", self.path()]);
    }

    /// Puts raw message files straight into `user`'s INBOX (no SMTP).
    pub fn deliver<P: AsRef<Path>>(&self, user: &str, files: &[P]) {
        let mut args = vec![
            "deliver".to_string(),
            self.path().to_string(),
            user.to_string(),
        ];
        args.extend(
            files
                .iter()
                .map(|f| f.as_ref().to_string_lossy().into_owned()),
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args);
    }

    pub fn reset_uidvalidity(&self, user: &str) {
        run(&["reset-uidvalidity", self.path(), user]);
    }

    pub fn port(&self, key: &str) -> u16 {
        self.env[key].as_u64().unwrap_or_else(|| panic!("no {key}")) as u16
    }

    pub fn s(&self, key: &str) -> String {
        self.env[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key}"))
            .to_string()
    }

    pub fn ca_cert(&self) -> PathBuf {
        PathBuf::from(self.s("CA_CERT"))
    }

    /// Every raw message in one folder of a user's Maildir (`""` = INBOX, `".Sent"` = Sent).
    pub fn maildir(&self, user: &str, folder: &str) -> Vec<Vec<u8>> {
        let base = Path::new(&self.s("MAILDIR_ROOT")).join(user).join(folder);
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(base.join(sub)) {
                for e in entries.flatten() {
                    if let Ok(bytes) = std::fs::read(e.path()) {
                        out.push(bytes);
                    }
                }
            }
        }
        out
    }
}

impl Drop for MailServers {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .args(["stop", self.path()])
            .output();
    }
}
