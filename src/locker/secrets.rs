//! Secrets: the per-install key, pickup codes, API tokens and courier TOTP (sealed at rest with
//! a key derived here, see `totp_seal`).
//!
//! Pickup codes are stored only as HMAC-SHA256 under a key that lives in the state directory
//! (mode 0600), so a copy of the database alone does not reveal codes even by brute force over
//! the small code space. Tokens are long random strings, so a plain SHA-256 suffices for them.

use hmac::{Hmac, Mac};
use rand::{Rng, TryRngCore, rngs::OsRng};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use subtle::ConstantTimeEq;

use crate::domain::PickupCode;

/// The per-install key. Its `Debug` never shows it.
#[derive(Clone)]
pub struct InstallKey([u8; 32]);

impl std::fmt::Debug for InstallKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InstallKey(<redacted>)")
    }
}

impl InstallKey {
    /// Reads the key at `path`, creating it (mode 0600, never overwriting) on first start.
    pub fn load_or_create(path: &Path) -> std::io::Result<InstallKey> {
        match std::fs::File::open(path) {
            Ok(mut f) => {
                let mut key = [0u8; 32];
                f.read_exact(&mut key).map_err(|e| {
                    std::io::Error::new(
                        e.kind(),
                        format!("{}: unreadable install key: {e}", path.display()),
                    )
                })?;
                Ok(InstallKey(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = random_bytes::<32>();
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)?;
                f.write_all(&key)?;
                f.sync_all()?;
                Ok(InstallKey(key))
            }
            Err(e) => Err(e),
        }
    }

    /// A key for tests.
    pub fn random() -> InstallKey {
        InstallKey(random_bytes::<32>())
    }

    /// A 32-byte key for one purpose, named by `info` (HKDF-SHA256, RFC 5869): keys derived
    /// under different labels are independent of each other and of the code HMAC key.
    pub fn derive(&self, info: &[u8]) -> [u8; 32] {
        let mut key = [0u8; 32];
        hkdf::Hkdf::<Sha256>::new(None, &self.0)
            .expand(info, &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        key
    }

    /// The stored form of a pickup code.
    pub fn code_hash(&self, code: &str) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(code.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

/// Bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    OsRng
        .try_fill_bytes(&mut buf)
        .expect("the OS random source failed");
    buf
}

/// A fresh pickup code of `digits` uniformly random digits.
pub fn new_pickup_code(digits: u8) -> PickupCode {
    let mut rng = OsRng.unwrap_err();
    PickupCode::new(
        (0..digits)
            .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
            .collect(),
    )
}

/// A fresh API or session token.
pub fn new_token() -> String {
    format!("lkd_{}", hex::encode(random_bytes::<32>()))
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Equality that takes the same time wherever the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_key_is_created_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("install.key");
        let a = InstallKey::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let b = InstallKey::load_or_create(&path).unwrap();
        assert_eq!(a.code_hash("123456"), b.code_hash("123456"));
        assert_ne!(
            InstallKey::random().code_hash("123456"),
            a.code_hash("123456")
        );
    }

    #[test]
    fn codes_have_the_configured_digits_and_vary() {
        let codes: Vec<String> = (0..50)
            .map(|_| new_pickup_code(8).expose().to_owned())
            .collect();
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 8 && c.bytes().all(|b| b.is_ascii_digit()))
        );
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert!(
            distinct.len() > 45,
            "codes repeat far too often: {distinct:?}"
        );
    }

    #[test]
    fn tokens_are_long_and_hashed() {
        let t = new_token();
        assert!(t.len() > 60);
        assert_eq!(token_hash(&t), token_hash(&t));
        assert!(!constant_time_eq(
            &token_hash(&t),
            &token_hash(&new_token())
        ));
    }
}
