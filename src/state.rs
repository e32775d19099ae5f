//! The state directory (`locker.state_dir`): what lives in it, and how private it is.
//!
//! ```text
//! lockerd.db      the SQLite database (with lockerd.db-wal and lockerd.db-shm beside it)
//! install.key     32 random bytes: the HMAC key of every code, and the TOTP sealing key's root
//! photos/         <parcel id>.jpg, and <parcel id>.partial.jpg while the camera writes one
//! hardware.lock   held (flock) by whoever drives the buses: the daemon or a `lockerd hw` command
//! ```
//!
//! The directory is 0700 and every file in it 0600: the database holds code hashes and sealed
//! secrets, and the key checks every code. This module is the only one that spells these
//! names. It depends on `store` (to open the database) and `domain` (parcel ids) only, so the
//! daemon, the service, the camera and the command-line tools all reach it without reaching
//! each other.

use crate::domain::ParcelId;
use crate::store::Db;
use anyhow::Context;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A state directory, by its path (nothing is touched until asked).
#[derive(Debug, Clone)]
pub struct StateDir(PathBuf);

impl StateDir {
    pub fn new(root: impl Into<PathBuf>) -> StateDir {
        StateDir(root.into())
    }

    pub fn root(&self) -> &Path {
        &self.0
    }

    pub fn database(&self) -> PathBuf {
        self.0.join("lockerd.db")
    }

    pub fn install_key(&self) -> PathBuf {
        self.0.join("install.key")
    }

    pub fn photos(&self) -> PathBuf {
        self.0.join("photos")
    }

    /// Where the photo of `parcel` is kept.
    pub fn photo(&self, parcel: &ParcelId) -> PathBuf {
        self.photos().join(format!("{parcel}.jpg"))
    }

    /// Where the camera writes the photo of `parcel` before it is checked.
    pub fn partial_photo(&self, parcel: &ParcelId) -> PathBuf {
        self.photos().join(format!("{parcel}.partial.jpg"))
    }

    /// The parcel a file in `photos/` is the kept photo of; `None` for anything else (a
    /// partial photo, a stray file).
    pub fn photo_parcel(file_name: &str) -> Option<&str> {
        file_name
            .strip_suffix(".jpg")
            .filter(|id| !id.ends_with(".partial"))
    }

    fn hardware_lock(&self) -> PathBuf {
        self.0.join("hardware.lock")
    }

    /// Creates the directory (0700) if needed, and takes group and other permissions away
    /// from it if it has any.
    pub fn create(&self) -> anyhow::Result<()> {
        private_dir(&self.0)
            .with_context(|| format!("cannot create state directory {}", self.0.display()))?;
        make_private(&self.0, 0o700)
    }

    /// Creates `photos/` (0700) if needed.
    pub fn create_photos(&self) -> std::io::Result<()> {
        private_dir(&self.photos())
    }

    /// Opens the database, creating the directory and the file (0600, before SQLite opens it:
    /// its WAL and SHM files copy its mode) on first start.
    pub fn open_database(&self) -> anyhow::Result<Db> {
        self.create()?;
        let path = self.database();
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot create database {}", path.display()))?;
        make_private(&path, 0o600)?;
        Db::open(&path).with_context(|| format!("cannot open database {}", path.display()))
    }

    /// Claims the hardware of this install: an exclusive lock on `hardware.lock`, held while
    /// the returned claim lives. The daemon holds it for its life and each `lockerd hw` command
    /// for its run, so two masters never drive one bus (an RS-485 line garbles frames, and
    /// one's all-off could cut the other's pulse).
    pub fn claim_hardware(&self) -> anyhow::Result<HardwareClaim> {
        private_dir(&self.0)
            .with_context(|| format!("cannot create state directory {}", self.0.display()))?;
        let path = self.hardware_lock();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(HardwareClaim(file)),
            Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
                "another lockerd (the daemon, or a `lockerd hw` command) is using the hardware \
                 of {}",
                self.0.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(anyhow::Error::new(e).context(format!("cannot lock {}", path.display())))
            }
        }
    }
}

/// The hardware lock of `StateDir::claim_hardware`, released when dropped. Released explicitly,
/// not only by closing the file: the lock belongs to the open file, which a child forked by any
/// thread of this process (a camera command) shares until it execs, so a daemon stopped and
/// started again in one process (tests, the library) could find its own old lock still held.
#[derive(Debug)]
pub struct HardwareClaim(std::fs::File);

impl Drop for HardwareClaim {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Takes group and other permissions away from `path` if it has any beyond `mode`.
pub fn make_private(path: &Path, mode: u32) -> anyhow::Result<()> {
    let current = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if current & !mode != 0 {
        tracing::warn!(path = %path.display(), mode = format!("{current:o}"), "tightening permissions");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot restrict permissions of {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_kept_photo_names_a_parcel() {
        assert_eq!(StateDir::photo_parcel("p-1.jpg"), Some("p-1"));
        assert_eq!(StateDir::photo_parcel("p-1.partial.jpg"), None);
        assert_eq!(StateDir::photo_parcel("notes.txt"), None);
        let state = StateDir::new("/s");
        let parcel = ParcelId("p-1".into());
        let name = |p: PathBuf| p.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            StateDir::photo_parcel(&name(state.photo(&parcel))),
            Some("p-1")
        );
        assert_eq!(
            StateDir::photo_parcel(&name(state.partial_photo(&parcel))),
            None
        );
    }

    #[test]
    fn the_directory_and_the_database_are_private_and_a_loose_directory_is_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("state");
        std::fs::create_dir(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let state = StateDir::new(&root);
        drop(state.open_database().unwrap());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&state.database()), 0o600);
        let claim = state.claim_hardware().unwrap();
        assert!(state.claim_hardware().is_err(), "one claim at a time");
        drop(claim);
        assert!(state.claim_hardware().is_ok());
    }
}
