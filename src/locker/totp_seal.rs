//! Courier TOTP secrets at rest: sealed under a key derived from the install key, so a copy of
//! the database, or of a backup, without `state_dir/install.key` cannot log anyone in.
//!
//! The key is HKDF-SHA256 of the install key with its own info label, independent of the HMAC
//! key of pickup codes. Each secret is sealed with XChaCha20-Poly1305 under a random 24-byte
//! nonce (random nonces of that size never repeat in practice, so no counter has to survive a
//! restored backup); the associated data is the courier's id, so a sealed secret copied onto
//! another courier's row does not open. Stored: `nonce || ciphertext || tag`, and the column
//! `couriers.totp_sealed` says which scheme (0: clear, as every row written before schema 8).
//!
//! The schema migration cannot seal: it runs in `Db::open`, before the key is read, and in tools
//! that never read it. The service seals every clear row once at start, in one transaction (a
//! restart finds none left: idempotent), then checkpoints the WAL so the clear bytes leave it
//! too. A login never uses a clear row: one found later was written behind lockerd's back (by
//! someone who could then choose the secret) and fails like a wrong code.

use super::core::Inner;
use super::{InstallKey, Result};
use crate::domain::CourierId;
use crate::store;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// `couriers.totp_sealed` of a secret sealed as described above.
pub const SEALED_V1: i64 = 1;
/// The HKDF info label of this key: no other key of lockerd is derived under it.
const KEY_INFO: &[u8] = b"lockerd/courier-totp-secret/v1";
const NONCE_LEN: usize = 24;

/// Seals and opens courier TOTP secrets.
pub struct TotpSeal(XChaCha20Poly1305);

impl TotpSeal {
    pub fn new(key: &InstallKey) -> TotpSeal {
        TotpSeal(XChaCha20Poly1305::new(&key.derive(KEY_INFO).into()))
    }

    pub fn seal(&self, courier: &CourierId, secret: &[u8]) -> Vec<u8> {
        let nonce = super::secrets::random_bytes::<NONCE_LEN>();
        let payload = Payload {
            msg: secret,
            aad: courier.as_str().as_bytes(),
        };
        let sealed = self
            .0
            .encrypt(XNonce::from_slice(&nonce), payload)
            .expect("XChaCha20-Poly1305 seals any secret of a sane length");
        [nonce.as_slice(), &sealed].concat()
    }

    /// The secret, if `sealed` was sealed for `courier` under this install key.
    pub fn open(&self, courier: &CourierId, sealed: &[u8]) -> Option<Vec<u8>> {
        let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN)?;
        let payload = Payload {
            msg: ciphertext,
            aad: courier.as_str().as_bytes(),
        };
        self.0.decrypt(XNonce::from_slice(nonce), payload).ok()
    }
}

impl Inner {
    /// The TOTP secret of a courier row, or `None` (logged, never the secret) when it is not
    /// sealed under this install key.
    pub fn totp_secret(&self, row: &store::CourierRow) -> Option<Vec<u8>> {
        if row.totp_sealed != SEALED_V1 {
            tracing::warn!(courier = %row.id, "a courier's TOTP secret is not sealed: login refused");
            return None;
        }
        let secret = TotpSeal::new(&self.key).open(&row.id, &row.totp_secret);
        if secret.is_none() {
            tracing::warn!(
                courier = %row.id,
                "a courier's TOTP secret does not open with this install key: login refused"
            );
        }
        secret
    }

    /// Seals every clear TOTP secret (rows from before schema 8) and checkpoints the WAL; says
    /// in the log how many secrets this install key cannot open (a database restored without
    /// its `install.key`). Run once at start.
    pub fn seal_totp_secrets(&self) -> Result<()> {
        let seal = TotpSeal::new(&self.key);
        let (sealed, unreadable) = self.tx(|tx| {
            let clear = store::clear_totp_secrets(tx)?;
            for (id, secret) in &clear {
                store::set_totp_secret(tx, id, &seal.seal(id, secret), SEALED_V1)?;
            }
            if !clear.is_empty() {
                // The clear secrets are still in the WAL's older frames.
                tx.after_commit(|a| a.secrets_in_wal = true);
            }
            let unreadable = store::sealed_totp_secrets(tx)?
                .iter()
                .filter(|(id, sealed)| seal.open(id, sealed).is_none())
                .count();
            Ok((clear.len(), unreadable))
        })?;
        if sealed > 0 {
            tracing::info!(couriers = sealed, "courier TOTP secrets sealed");
        }
        if unreadable > 0 {
            tracing::error!(
                couriers = unreadable,
                "courier TOTP secrets do not open with this install key (a database restored \
                 without its install.key?): those couriers cannot log in until re-created"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_for_its_courier_and_install_key() {
        let key = InstallKey::random();
        let seal = TotpSeal::new(&key);
        let (alice, bob) = (CourierId("alice-id".into()), CourierId("bob-id".into()));
        let secret = b"12345678901234567890";
        let sealed = seal.seal(&alice, secret);
        assert_eq!(seal.open(&alice, &sealed).as_deref(), Some(&secret[..]));
        assert!(
            sealed.windows(secret.len()).all(|w| w != secret),
            "the secret is not in its sealed form"
        );
        assert_ne!(sealed, seal.seal(&alice, secret), "a fresh nonce each time");
        assert_eq!(seal.open(&bob, &sealed), None, "rows cannot be swapped");
        let other = TotpSeal::new(&InstallKey::random());
        assert_eq!(other.open(&alice, &sealed), None, "another install key");
        let mut flipped = sealed.clone();
        flipped[30] ^= 1;
        assert_eq!(seal.open(&alice, &flipped), None, "an edited row");
        assert_eq!(seal.open(&alice, &sealed[..10]), None, "a truncated row");
    }
}
