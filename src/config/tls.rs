//! `api.tls_cert`, `api.tls_key` and `api.allow_plaintext`: whether the API is served over
//! HTTPS, and the refusal of a LAN listener without it.
//!
//! Bearer tokens, the kiosk's cookies and typed pickup codes cross the network with every
//! request, so an API reachable from the LAN is served over TLS unless the file says, in so
//! many words, that plaintext is accepted. The PEM files are read and matched here, when the
//! config loads, so a missing, unreadable or mismatched file is an error naming its key before
//! any hardware is touched; the daemon then serves the key loaded here.

use super::check::{Check, ConfigError};
use super::sections::{ApiConfig, TlsIdentity};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// Loads the identity when both files are named, and refuses a non-loopback listener
/// without one unless `api.allow_plaintext`.
pub(super) fn validate(check: &Check, mut api: ApiConfig) -> Result<ApiConfig, ConfigError> {
    let dir = check.source.parent().unwrap_or(Path::new(""));
    let named = |path: &Path| !path.as_os_str().is_empty();
    match (named(&api.tls_cert), named(&api.tls_key)) {
        (true, true) => {
            api.tls_cert = dir.join(&api.tls_cert);
            api.tls_key = dir.join(&api.tls_key);
            api.tls = Some(load(check, &api.tls_cert, &api.tls_key)?);
        }
        (true, false) => {
            let message = "required with api.tls_cert: the certificate's private key (PEM)";
            return Err(check.error("api.tls_key", message));
        }
        (false, true) => {
            let message = "required with api.tls_key: the certificate chain (PEM)";
            return Err(check.error("api.tls_cert", message));
        }
        (false, false) => {}
    }
    let lan = !api.listen.ip().is_loopback();
    check.ensure(
        api.tls.is_some() || !lan || api.allow_plaintext,
        "api.listen",
        || {
            format!(
                "{} is reachable from the network, and the API has no TLS: tokens, the kiosk's \
             cookies and pickup codes would cross it in clear. Set api.tls_cert and api.tls_key \
             (`lockerd tls self-signed` makes a first pair), or api.allow_plaintext = true to \
             accept that",
                api.listen
            )
        },
    )?;
    Ok(api)
}

fn load(check: &Check, cert: &Path, key: &Path) -> Result<TlsIdentity, ConfigError> {
    let chain = read_chain(check, "api.tls_cert", cert)?;
    let private = read_key(check, "api.tls_key", key)?;
    rustls::server::ParsedCertificate::try_from(&chain[0]).map_err(|e| {
        let what = format!(
            "{}: the first certificate is not valid: {e}",
            cert.display()
        );
        check.error("api.tls_cert", what)
    })?;
    let provider = rustls::crypto::ring::default_provider();
    let certified = CertifiedKey::from_der(chain, private, &provider).map_err(|e| {
        let message = match e {
            rustls::Error::InconsistentKeys(_) => format!(
                "{} is not the private key of the certificate in {}",
                key.display(),
                cert.display()
            ),
            e => format!("{}: {e}", key.display()),
        };
        check.error("api.tls_key", message)
    })?;
    Ok(TlsIdentity {
        cert: cert.to_owned(),
        key: key.to_owned(),
        certified: Arc::new(certified),
    })
}

/// The certificates of the PEM file `path` (at least one), for `key`.
pub(super) fn read_chain(
    check: &Check,
    key: &str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let bytes = read(check, key, path)?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| check.error(key, pem_error(path, &e)))?;
    check.ensure(!chain.is_empty(), key, || {
        format!(
            "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        )
    })?;
    Ok(chain)
}

/// The key must not be readable by every user of the machine: it is the API's (or the MQTT
/// link's) identity.
pub(super) fn read_key(
    check: &Check,
    key: &str,
    path: &Path,
) -> Result<PrivateKeyDer<'static>, ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let bytes = read(check, key, path)?;
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0);
    check.ensure(mode & 0o007 == 0, key, || {
        format!(
            "{} can be read by every user (mode {mode:o}): `chmod 600` it (owned by the \
             daemon's user)",
            path.display()
        )
    })?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        pem::Error::NoItemsFound => check.error(
            key,
            format!(
                "{} holds no PEM private key (-----BEGIN PRIVATE KEY-----)",
                path.display()
            ),
        ),
        e => check.error(key, pem_error(path, &e)),
    })
}

/// A PEM chain is a few KiB: a bigger file is not one (and `/dev/zero` must not hang the
/// loader).
const MAX_PEM: u64 = 1 << 20;

fn read(check: &Check, key: &str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    use std::io::Read;
    let cannot =
        |e: std::io::Error| check.error(key, format!("cannot read {}: {e}", path.display()));
    let mut bytes = vec![];
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(MAX_PEM + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    check.ensure(bytes.len() as u64 <= MAX_PEM, key, || {
        format!("{} is larger than 1 MiB: not a PEM file", path.display())
    })?;
    Ok(bytes)
}

fn pem_error(path: &Path, error: &pem::Error) -> String {
    format!("{} is not valid PEM: {error}", path.display())
}
