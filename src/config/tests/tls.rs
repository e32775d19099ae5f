//! `api.tls_cert`, `api.tls_key` and `api.allow_plaintext`: both files or neither, each a PEM
//! file that is read, parsed and matched at load; a LAN listener needs TLS or plaintext allowed.

use super::*;
use std::os::unix::fs::PermissionsExt;

/// A certificate and its key written in a temporary directory, and a config naming them.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().unwrap();
        let pair = rcgen::generate_simple_self_signed(vec!["locker.test".to_owned()]).unwrap();
        write(&dir.path().join("cert.pem"), &pair.cert.pem(), 0o644);
        write(
            &dir.path().join("key.pem"),
            &pair.signing_key.serialize_pem(),
            0o600,
        );
        Files { dir }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    /// Parses `[api]` + `keys` as if the file were in the temporary directory, so relative
    /// names resolve there.
    fn parse(&self, keys: &str) -> Result<Config, ConfigError> {
        Config::parse(&with(&format!("[api]\n{keys}")), &self.path("lockerd.toml"))
    }

    #[track_caller]
    fn refused(&self, keys: &str, key: &str, fragment: &str) {
        let error = self.parse(keys).expect_err("refused");
        assert_eq!(error.key, key, "{error}");
        assert!(error.message.contains(fragment), "{fragment:?} in {error}");
    }
}

fn write(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

const PAIR: &str = "tls_cert = \"cert.pem\"\ntls_key = \"key.pem\"";

#[test]
fn a_pair_relative_to_the_file_is_loaded() {
    let files = Files::new();
    let config = files
        .parse(&format!("listen = \"0.0.0.0:8443\"\n{PAIR}"))
        .unwrap();
    let tls = config.api.tls.expect("TLS configured");
    assert_eq!(tls.cert, files.path("cert.pem"));
    assert_eq!(tls.key, files.path("key.pem"));
    let debug = format!("{tls:?}");
    assert!(!debug.contains("PRIVATE"), "{debug}");
}

#[test]
fn both_files_or_neither() {
    let files = Files::new();
    files.refused(
        "tls_cert = \"cert.pem\"",
        "api.tls_key",
        "required with api.tls_cert",
    );
    files.refused(
        "tls_key = \"key.pem\"",
        "api.tls_cert",
        "required with api.tls_key",
    );
}

#[test]
fn unreadable_or_invalid_files_are_named() {
    let files = Files::new();
    let missing = "tls_cert = \"nope.pem\"\ntls_key = \"key.pem\"";
    files.refused(missing, "api.tls_cert", "cannot read");
    write(&files.path("junk.pem"), "not pem at all\n", 0o600);
    let junk_cert = "tls_cert = \"junk.pem\"\ntls_key = \"key.pem\"";
    files.refused(junk_cert, "api.tls_cert", "holds no PEM certificate");
    let junk_key = "tls_cert = \"cert.pem\"\ntls_key = \"junk.pem\"";
    files.refused(junk_key, "api.tls_key", "holds no PEM private key");
    let swapped = "tls_cert = \"key.pem\"\ntls_key = \"cert.pem\"";
    files.refused(swapped, "api.tls_cert", "holds no PEM certificate");
}

#[test]
fn the_key_must_belong_to_the_certificate() {
    let files = Files::new();
    let other = rcgen::KeyPair::generate().unwrap();
    write(&files.path("other.pem"), &other.serialize_pem(), 0o600);
    let keys = "tls_cert = \"cert.pem\"\ntls_key = \"other.pem\"";
    files.refused(
        keys,
        "api.tls_key",
        "is not the private key of the certificate",
    );
}

#[test]
fn a_key_every_user_can_read_is_refused() {
    let files = Files::new();
    std::fs::set_permissions(
        files.path("key.pem"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    files.refused(PAIR, "api.tls_key", "chmod 600");
}

#[test]
fn a_lan_listener_needs_tls_or_allow_plaintext() {
    let files = Files::new();
    for listen in ["0.0.0.0:8080", "192.168.1.20:8080", "[::]:8080"] {
        let keys = format!("listen = \"{listen}\"");
        let error = files.parse(&keys).expect_err("refused");
        assert_eq!(error.key, "api.listen");
        assert!(error.message.contains("api.allow_plaintext"), "{error}");
        assert!(error.message.contains("api.tls_cert"), "{error}");
        files
            .parse(&format!("{keys}\nallow_plaintext = true"))
            .unwrap();
        files.parse(&format!("{keys}\n{PAIR}")).unwrap();
    }
    for listen in ["127.0.0.1:8080", "127.0.0.2:8080", "[::1]:8080"] {
        files.parse(&format!("listen = \"{listen}\"")).unwrap();
    }
}
