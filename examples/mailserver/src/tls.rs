//! Certificates: a self-signed one made with rcgen at `init`, read back as PEM with
//! rustls-pki-types' `PemObject`, and the rustls server configuration (ring provider).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot read the PEM file {path}: {detail} (re-run `init` or fix [tls] in config.toml)"
    )]
    Pem { path: PathBuf, detail: String },
    #[error("{path} holds no certificate")]
    NoCertificate { path: PathBuf },
    #[error("the certificate and key are not usable by rustls: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Writes a self-signed certificate for `hostname` (plus localhost and 127.0.0.1) to the two
/// paths, the key readable by the owner only.
pub fn write_self_signed(hostname: &str, cert: &Path, key: &Path) -> Result<(), TlsError> {
    let names = vec![
        hostname.to_string(),
        "localhost".to_string(),
        "127.0.0.1".to_string(),
    ];
    let ck = rcgen::generate_simple_self_signed(names)?;
    for p in [cert, key] {
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).map_err(|source| TlsError::Write {
                path: dir.to_path_buf(),
                source,
            })?;
        }
    }
    std::fs::write(cert, ck.cert.pem()).map_err(|source| TlsError::Write {
        path: cert.to_path_buf(),
        source,
    })?;
    write_private(key, ck.signing_key.serialize_pem().as_bytes()).map_err(|source| {
        TlsError::Write {
            path: key.to_path_buf(),
            source,
        }
    })?;
    Ok(())
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

/// Reads the certificate chain and key and builds the server configuration.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| TlsError::Pem {
            path: cert.to_path_buf(),
            detail: e.to_string(),
        })?
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem {
            path: cert.to_path_buf(),
            detail: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert.to_path_buf(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Pem {
        path: key.to_path_buf(),
        detail: e.to_string(),
    })?;
    // The workspace uses ring only (no aws-lc); rustls 0.23.48 deprecates ring's provider for
    // lacking post-quantum key exchange, which ring cannot offer.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(Arc::new(cfg))
}

/// A client configuration trusting only the certificates in `ca` (for the smarthost).
pub fn client_config(ca: &Path) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).map_err(|e| TlsError::Pem {
        path: ca.to_path_buf(),
        detail: e.to_string(),
    })? {
        let c = c.map_err(|e| TlsError::Pem {
            path: ca.to_path_buf(),
            detail: e.to_string(),
        })?;
        roots.add(c)?;
    }
    if roots.is_empty() {
        return Err(TlsError::NoCertificate {
            path: ca.to_path_buf(),
        });
    }
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_certificate_loads_into_rustls() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("tls/cert.pem");
        let key = dir.path().join("tls/key.pem");
        write_self_signed("mail.example.edu", &cert, &key).unwrap();
        let cfg = server_config(&cert, &key).unwrap();
        assert!(cfg.alpn_protocols.is_empty());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = server_config(
            Path::new("/nonexistent/c.pem"),
            Path::new("/nonexistent/k.pem"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("/nonexistent/c.pem"), "{err}");
    }
}
