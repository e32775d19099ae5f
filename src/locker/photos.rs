//! The locker's side of proof-of-delivery photos: recording one the camera took, serving it,
//! and deleting it after `photo.retention`. The camera itself is `crate::photo`.

use super::core::Inner;
use super::tx::Tx;
use super::{Locker, LockerError, Result};
use crate::domain::{ParcelId, ParcelState};
use crate::state::StateDir;
use crate::store;
use serde_json::json;
use sha2::{Digest, Sha256};

impl Inner {
    fn state_dir(&self) -> StateDir {
        StateDir::new(&self.config.locker.state_dir)
    }

    /// The camera kept a photo of `parcel`: recorded with its digest, and published in
    /// `parcel.photo_taken` (the cloud fetches it for the delivery notice). A parcel gone
    /// meanwhile keeps none.
    pub fn attach_photo(&self, parcel: &ParcelId) -> Result<()> {
        let path = self.state_dir().photo(parcel);
        // Hashed before the transaction: the file is read without holding the database.
        let jpeg = std::fs::read(&path)
            .map_err(|e| LockerError::Internal(format!("cannot read the photo: {e}")))?;
        let sha256 = hex::encode(Sha256::digest(&jpeg));
        let bytes = jpeg.len() as u64;
        self.tx(|tx| {
            match store::get_parcel(tx, parcel.as_str())? {
                Some(p) if p.state != ParcelState::Cancelled => {
                    store::set_photo(tx, parcel, true)?;
                    store::set_photo_digest(tx, parcel, &sha256, bytes)?;
                    let data = json!({"parcel_id": parcel, "bytes": bytes, "sha256": sha256});
                    self.publish(tx, "parcel.photo_taken", data)?;
                }
                _ => tx.after_commit(|a| a.delete_files.push(path)),
            }
            Ok(())
        })
    }

    /// Forgets the photos of parcels stored longer ago than `photo.retention`; their files are
    /// deleted once that is committed (a file left by a failed delete is swept at the next
    /// start, a row is never left pointing at a deleted file).
    pub fn delete_old_photos(&self, tx: &Tx<'_>) -> Result<()> {
        let before = self.now().minus(self.config.photo.retention);
        for parcel in store::parcels_with_photo_before(tx, before)? {
            store::set_photo(tx, &parcel, false)?;
            let path = self.state_dir().photo(&parcel);
            tx.after_commit(|a| a.delete_files.push(path));
        }
        Ok(())
    }

    /// Deletes files in the photo directory that no parcel's photo is: left half-written by a
    /// crash, or kept just before one but never recorded. Run at start, before the camera.
    pub fn sweep_photos(&self) -> Result<usize> {
        let dir = self.state_dir().photos();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(0);
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let parcel = StateDir::photo_parcel(&name);
            let kept = match parcel {
                Some(id) => self
                    .read(|c| Ok(store::get_parcel(c, id)?))?
                    .is_some_and(|p| p.photo),
                None => false,
            };
            if !kept && std::fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        if removed > 0 {
            tracing::info!(removed, "photo files no parcel refers to deleted");
        }
        Ok(removed)
    }

    /// The JPEG of a parcel's photo.
    pub fn photo(&self, id: &str) -> Result<Vec<u8>> {
        // The path is built from the id as stored, never from the request: no traversal.
        let parcel = self.read(|c| self.parcel(c, id))?;
        let none = || LockerError::NotFound(format!("photo of parcel {id}"));
        if !parcel.photo {
            return Err(none());
        }
        std::fs::read(self.state_dir().photo(&parcel.id)).map_err(|_| none())
    }
}

impl Locker {
    pub async fn sweep_photos(&self) -> Result<usize> {
        self.blocking(|inner| inner.sweep_photos()).await
    }

    pub async fn attach_photo(&self, parcel: &ParcelId) -> Result<()> {
        let parcel = parcel.clone();
        self.blocking(move |inner| inner.attach_photo(&parcel))
            .await
    }

    pub async fn photo(&self, id: &str) -> Result<Vec<u8>> {
        let id = id.to_owned();
        self.blocking(move |inner| inner.photo(&id)).await
    }
}
