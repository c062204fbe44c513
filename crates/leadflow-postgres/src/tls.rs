//! TLS to the database, as the URL's `sslmode` asks: `disable`, `prefer` (the default: TLS when
//! the server offers it) or `require`. The server's certificate is always verified, against the
//! system's roots and, when `PGSSLROOTCERT` names a PEM file (libpq's variable), its certificates
//! too: a private CA, a self-signed server.

use std::sync::Arc;

use leadflow_store::StoreError;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The variable naming extra root certificates.
const ROOT_CERTS: &str = "PGSSLROOTCERT";

pub fn connector() -> Result<MakeRustlsConnect, StoreError> {
    let mut roots = rustls::RootCertStore::empty();
    // The system's roots; one it cannot read is left out (a broken bundle must not stop a
    // server that needs none of them).
    let system = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(system.certs);
    if let Some(file) = std::env::var_os(ROOT_CERTS).filter(|f| !f.is_empty()) {
        let certs = CertificateDer::pem_file_iter(&file)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| StoreError::Backend(format!("{ROOT_CERTS}={}: {e}", file.to_string_lossy())))?;
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| StoreError::Backend(format!("{ROOT_CERTS}={}: {e}", file.to_string_lossy())))?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Backend(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}
