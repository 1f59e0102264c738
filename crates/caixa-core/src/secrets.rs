//! Secrets (API signing secrets, later passwords and tokens) live in the OS keychain; SQLite keeps
//! only a reference. One trait, two backends: the real keychain and memory for unit tests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

const SERVICE: &str = "app.caixa.desktop";

pub trait SecretBackend: Send + Sync {
    fn set(&self, reference: &str, secret: &str) -> Result<()>;
    fn get(&self, reference: &str) -> Result<String>;
    fn delete(&self, reference: &str) -> Result<()>;
}

/// The OS keychain through the `keyring` crate (Secret Service on Linux).
pub struct Keychain;

fn keychain_error(e: keyring::Error) -> Error {
    // keyring's messages never include the secret itself.
    match e {
        keyring::Error::NoEntry => Error::NotFound("secret"),
        keyring::Error::NoStorageAccess(inner) => Error::Unavailable(format!(
            "the OS keychain is not available ({inner}); on Linux a Secret Service such as GNOME Keyring must be running and unlocked"
        )),
        keyring::Error::PlatformFailure(inner) => {
            Error::Unavailable(format!("the OS keychain failed: {inner}"))
        }
        other => Error::Unavailable(format!("the OS keychain failed: {other}")),
    }
}

impl SecretBackend for Keychain {
    fn set(&self, reference: &str, secret: &str) -> Result<()> {
        keyring::Entry::new(SERVICE, reference)
            .and_then(|e| e.set_password(secret))
            .map_err(keychain_error)
    }

    fn get(&self, reference: &str) -> Result<String> {
        keyring::Entry::new(SERVICE, reference)
            .and_then(|e| e.get_password())
            .map_err(keychain_error)
    }

    fn delete(&self, reference: &str) -> Result<()> {
        match keyring::Entry::new(SERVICE, reference).and_then(|e| e.delete_credential()) {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keychain_error(e)),
        }
    }
}

/// In-memory backend for unit tests.
#[derive(Default)]
pub struct MemorySecrets {
    map: Mutex<HashMap<String, String>>,
}

impl SecretBackend for MemorySecrets {
    fn set(&self, reference: &str, secret: &str) -> Result<()> {
        self.map
            .lock()
            .map_err(|_| Error::Internal("secrets poisoned".into()))?
            .insert(reference.into(), secret.into());
        Ok(())
    }

    fn get(&self, reference: &str) -> Result<String> {
        self.map
            .lock()
            .map_err(|_| Error::Internal("secrets poisoned".into()))?
            .get(reference)
            .cloned()
            .ok_or(Error::NotFound("secret"))
    }

    fn delete(&self, reference: &str) -> Result<()> {
        self.map
            .lock()
            .map_err(|_| Error::Internal("secrets poisoned".into()))?
            .remove(reference);
        Ok(())
    }
}

/// The secrets module every part of the core uses.
#[derive(Clone)]
pub struct Secrets {
    backend: Arc<dyn SecretBackend>,
}

impl Secrets {
    pub fn keychain() -> Self {
        Secrets {
            backend: Arc::new(Keychain),
        }
    }

    pub fn memory() -> Self {
        Secrets {
            backend: Arc::new(MemorySecrets::default()),
        }
    }

    /// Runs off the async threads: the keychain talks D-Bus synchronously.
    pub async fn set(&self, reference: &str, secret: &str) -> Result<()> {
        let (b, r, s) = (
            self.backend.clone(),
            reference.to_string(),
            secret.to_string(),
        );
        tokio::task::spawn_blocking(move || b.set(&r, &s)).await?
    }

    pub async fn get(&self, reference: &str) -> Result<String> {
        let (b, r) = (self.backend.clone(), reference.to_string());
        tokio::task::spawn_blocking(move || b.get(&r)).await?
    }

    pub async fn delete(&self, reference: &str) -> Result<()> {
        let (b, r) = (self.backend.clone(), reference.to_string());
        tokio::task::spawn_blocking(move || b.delete(&r)).await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_roundtrip() {
        let s = Secrets::memory();
        s.set("inbox/1", "topsecret").await.unwrap();
        assert_eq!(s.get("inbox/1").await.unwrap(), "topsecret");
        s.delete("inbox/1").await.unwrap();
        assert!(matches!(s.get("inbox/1").await, Err(Error::NotFound(_))));
    }

    /// The real OS keychain. Runs where a Secret Service is up (scripts/test-env.sh starts one);
    /// set CAIXA_REQUIRE_KEYCHAIN=1 to make its absence a failure (CI does).
    #[tokio::test]
    async fn keychain_roundtrip() {
        let s = Secrets::keychain();
        let reference = format!("test/{}", std::process::id());
        match s.set(&reference, "s3cr3t-value").await {
            Err(Error::Unavailable(reason)) if std::env::var("CAIXA_REQUIRE_KEYCHAIN").is_err() => {
                eprintln!("skipping: no keychain here ({reason})");
                return;
            }
            other => other.unwrap(),
        }
        assert_eq!(s.get(&reference).await.unwrap(), "s3cr3t-value");
        s.delete(&reference).await.unwrap();
        assert!(matches!(s.get(&reference).await, Err(Error::NotFound(_))));
    }
}
