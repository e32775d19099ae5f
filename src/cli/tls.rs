//! `lockerd tls`: a first certificate for the API of a Pi on a LAN, and its fingerprint; and
//! the pinned TLS client the operator commands use to reach this machine's own daemon.
//!
//! The certificate is self-signed (there is no public name to get one for on a site LAN), so
//! every client must be told to trust it: a browser or curl by the certificate file, or by
//! comparing the SHA-256 fingerprint `lockerd tls fingerprint` prints. A site with its own CA
//! gives lockerd a certificate from it instead (README, "Security").

use crate::config::Config;
use anyhow::{Context, bail};
use clap::Subcommand;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// How long a self-signed certificate is valid: long, because renewing it means visiting every
/// client that trusts it, and it is replaced by hand anyway when the Pi is.
const VALIDITY_DAYS: i64 = 10 * 365;

#[derive(Subcommand)]
pub enum TlsCommand {
    /// Print the SHA-256 fingerprint of the configured certificate (api.tls_cert), to compare
    /// with what a browser or `openssl s_client` shows.
    Fingerprint {
        #[arg(long, short, default_value = crate::cli::DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Make a self-signed certificate and key for the API: OUT_DIR/cert.pem and
    /// OUT_DIR/key.pem (0600). Valid for each --host, and for localhost, 127.0.0.1 and ::1.
    SelfSigned {
        /// A DNS name or IP address clients use to reach the locker (repeat for several).
        #[arg(long, required = true)]
        host: Vec<String>,
        /// Where to write cert.pem and key.pem; neither may exist yet.
        #[arg(long)]
        out_dir: PathBuf,
    },
}

pub fn main(command: TlsCommand) -> ExitCode {
    let result = match command {
        TlsCommand::Fingerprint { config } => match Config::load(&config) {
            Ok(loaded) => print_fingerprint(&loaded, &config),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        TlsCommand::SelfSigned { host, out_dir } => self_signed(&host, &out_dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn print_fingerprint(config: &Config, path: &Path) -> anyhow::Result<()> {
    let Some(tls) = &config.api.tls else {
        bail!(
            "{}: api.tls_cert is not set: the API is plain HTTP",
            path.display()
        );
    };
    println!("{}", fingerprint(tls.end_entity()));
    eprintln!("SHA-256 fingerprint of {}", tls.cert.display());
    Ok(())
}

/// SHA-256 of a certificate's DER, as browsers and `openssl x509 -fingerprint -sha256` show
/// it: upper-case hex pairs joined by colons.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    let digest = Sha256::digest(cert.as_ref());
    let pairs: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    pairs.join(":")
}

fn self_signed(hosts: &[String], out_dir: &Path) -> anyhow::Result<()> {
    let mut names: Vec<String> = hosts.to_vec();
    for local in ["localhost", "127.0.0.1", "::1"] {
        if !names.iter().any(|n| n == local) {
            names.push(local.to_owned());
        }
    }
    let mut params =
        rcgen::CertificateParams::new(names).context("a --host is not a valid name")?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, hosts[0].as_str());
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(VALIDITY_DAYS);
    let key = rcgen::KeyPair::generate().context("cannot generate a key")?;
    let cert = params
        .self_signed(&key)
        .context("cannot sign the certificate")?;
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let key_path = out_dir.join("key.pem");
    let cert_path = out_dir.join("cert.pem");
    write_new(&key_path, key.serialize_pem().as_bytes(), 0o600)?;
    write_new(&cert_path, cert.pem().as_bytes(), 0o644)?;
    println!("{}", fingerprint(cert.der()));
    eprintln!(
        "wrote {} and {} (0600; give it to the daemon's user). In the config:\n  \
         [api]\n  tls_cert = \"{}\"\n  tls_key = \"{}\"\nThe line above is the certificate's \
         SHA-256 fingerprint: compare it with what a browser shows.",
        cert_path.display(),
        key_path.display(),
        cert_path.display(),
        key_path.display()
    );
    Ok(())
}

/// Writes a file that must not exist yet, created with `mode`.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// A TLS client that trusts exactly `cert`, whatever name it was reached by: the operator
/// commands talk to this machine's own daemon, whose certificate they read from the config,
/// so there is nothing to look up in a CA store and the loopback address need not be in it.
pub fn pinned_client(
    cert: &CertificateDer<'static>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let pinned = Pinned {
        cert: cert.clone(),
        algorithms: provider.signature_verification_algorithms,
    };
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(pinned))
        .with_no_client_auth())
}

#[derive(Debug)]
struct Pinned {
    cert: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(CertificateError::ApplicationVerificationFailure.into())
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
