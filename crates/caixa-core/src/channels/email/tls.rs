//! One TLS client setup for IMAP (tokio-rustls) with the public web PKI roots, plus extra
//! trusted certificates (PEM files) for self-hosted servers and the test servers.

use std::path::PathBuf;
use std::sync::Arc;

use tokio_rustls::rustls::{self, pki_types::CertificateDer, RootCertStore};

use crate::error::{Error, Result};

#[derive(Clone)]
pub struct TlsSetup {
    pub connector: tokio_rustls::TlsConnector,
    /// The same extra roots as PEM, for lettre's own TLS configuration.
    pub extra_pem: Arc<Vec<Vec<u8>>>,
}

impl TlsSetup {
    pub fn new(extra_ca_files: &[PathBuf]) -> Result<TlsSetup> {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let mut extra_pem = Vec::new();
        for path in extra_ca_files {
            let pem = std::fs::read(path).map_err(|e| {
                Error::Internal(format!("cannot read certificate {}: {e}", path.display()))
            })?;
            let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut pem.as_slice())
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| Error::Internal(format!("bad certificate {}: {e}", path.display())))?;
            for cert in certs {
                roots.add(cert).map_err(|e| {
                    Error::Internal(format!("bad certificate {}: {e}", path.display()))
                })?;
            }
            extra_pem.push(pem);
        }
        // An explicit provider: more than one may be compiled in, and then rustls cannot pick.
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Internal(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(TlsSetup {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            extra_pem: Arc::new(extra_pem),
        })
    }
}
