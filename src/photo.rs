//! Proof-of-delivery photos: when a deposit is stored, the configured camera command writes a
//! JPEG of the compartment, kept in the state directory's `photos/` (`crate::state`).
//!
//! The camera is an outside program, so it is treated as unreliable: it runs in its own task
//! after the parcel is already stored (a deposit never waits for it), without a shell, under
//! `photo.timeout` (killed after), one at a time, and its output is kept only if it looks like
//! a JPEG of sane size. Any failure is logged and the parcel simply has no photo. Depends on
//! `locker` for recording the photo; nothing depends on it.

use crate::config::PhotoConfig;
use crate::domain::ParcelId;
use crate::locker::Locker;
use crate::state::StateDir;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::sync::mpsc;

/// The largest photo kept (the API caps photo bodies at 8 MiB).
pub const MAX_PHOTO: u64 = 8 * 1024 * 1024;

/// Why no photo was kept.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("cannot start the camera command: {0}")]
    Spawn(std::io::Error),
    #[error("the camera command took longer than {0:?} and was killed")]
    Timeout(Duration),
    #[error("the camera command failed ({0})")]
    Failed(std::process::ExitStatus),
    #[error("the camera command wrote no file")]
    NoFile,
    #[error("the camera's output is not a JPEG")]
    NotJpeg,
    #[error("the camera's output is larger than 8 MiB")]
    TooLarge,
    #[error("cannot store the photo: {0}")]
    Io(std::io::Error),
}

/// The configured camera.
#[derive(Debug, Clone)]
pub struct Camera {
    argv: Vec<String>,
    timeout: Duration,
    state: StateDir,
}

impl Camera {
    /// `None` when no command is configured.
    pub fn new(config: &PhotoConfig, state: StateDir) -> Option<Camera> {
        Some(Camera {
            argv: config.argv()?,
            timeout: config.timeout,
            state,
        })
    }

    /// Runs the command for `parcel` and keeps its output; returns where it is.
    pub async fn take(&self, parcel: &ParcelId) -> Result<PathBuf, PhotoError> {
        self.state.create_photos().map_err(PhotoError::Io)?;
        let partial = Partial(self.state.partial_photo(parcel));
        let _ = std::fs::remove_file(&partial.0);
        self.run(&partial.0).await?;
        check_jpeg(&partial.0)?;
        let done = self.state.photo(parcel);
        std::fs::rename(&partial.0, &done).map_err(PhotoError::Io)?;
        Ok(done)
    }

    /// Runs the command in a process group of its own, so that a timeout (or a shutdown, which
    /// drops this future) kills whatever it started too, not only the command itself.
    async fn run(&self, path: &Path) -> Result<(), PhotoError> {
        let path = path.to_string_lossy();
        let mut words = self.argv.iter().map(|w| w.replace("{path}", &path));
        let program = words.next().unwrap_or_default();
        let mut child = tokio::process::Command::new(program)
            .args(words)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(PhotoError::Spawn)?;
        let mut group = child.id().map(Group);
        let waited = tokio::time::timeout(self.timeout, child.wait()).await;
        if let Ok(Ok(_)) = &waited {
            // The command exited and was reaped: its group id may be reused from now on.
            std::mem::forget(group.take());
        }
        match waited {
            Err(_) => Err(PhotoError::Timeout(self.timeout)),
            Ok(Err(e)) => Err(PhotoError::Io(e)),
            Ok(Ok(status)) if !status.success() => Err(PhotoError::Failed(status)),
            Ok(Ok(_)) => Ok(()),
        }
    }
}

/// A photo being written: deleted unless it was renamed into place, however `take` ends
/// (error, timeout, or the task cancelled at shutdown).
struct Partial(PathBuf);

impl Drop for Partial {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The process group of a camera command that has not exited yet, killed when it is given up
/// on (a wrapper script's children must not write a photo afterwards).
struct Group(u32);

impl Drop for Group {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.0) {
            // SAFETY: kill(2) with a negative pid signals that process group and touches no
            // memory; the group is the command's own (`process_group(0)` above).
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}

/// A JPEG starts with the SOI marker and a segment marker, and ends with EOI (cameras may pad
/// a few bytes after it).
fn check_jpeg(path: &Path) -> Result<(), PhotoError> {
    let size = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(PhotoError::NoFile),
        Err(e) => return Err(PhotoError::Io(e)),
    };
    if size > MAX_PHOTO {
        return Err(PhotoError::TooLarge);
    }
    let bytes = std::fs::read(path).map_err(PhotoError::Io)?;
    let tail = &bytes[bytes.len().saturating_sub(64)..];
    let ends = tail.windows(2).any(|w| w == [0xFF, 0xD9]);
    match bytes.starts_with(&[0xFF, 0xD8, 0xFF]) && ends {
        true => Ok(()),
        false => Err(PhotoError::NotJpeg),
    }
}

/// Takes the photos the locker asks for, one at a time, until `shutdown` (a photo being taken
/// then is abandoned; its parcel keeps none).
pub async fn run_camera(
    locker: Locker,
    camera: Camera,
    mut requests: mpsc::UnboundedReceiver<ParcelId>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let parcel = tokio::select! {
            _ = &mut shutdown => return,
            next = requests.recv() => match next {
                Some(parcel) => parcel,
                None => return,
            },
        };
        let taken = tokio::select! {
            _ = &mut shutdown => return,
            taken = camera.take(&parcel) => taken,
        };
        match taken {
            Ok(_) => {
                if let Err(e) = locker.attach_photo(&parcel).await {
                    tracing::error!(%parcel, error = %e, "cannot record the photo");
                }
            }
            Err(e) => tracing::warn!(%parcel, error = %e, "no proof-of-delivery photo"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_jpeg_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.jpg");
        std::fs::write(&path, b"\xFF\xD8\xFF\xE0 data \xFF\xD9").unwrap();
        assert!(check_jpeg(&path).is_ok());
        std::fs::write(&path, b"\xFF\xD8\xFF\xE0 data \xFF\xD9\0\0").unwrap();
        assert!(check_jpeg(&path).is_ok(), "padding after EOI");
        std::fs::write(&path, b"GIF89a").unwrap();
        assert!(matches!(check_jpeg(&path), Err(PhotoError::NotJpeg)));
        std::fs::write(&path, b"\xFF\xD8\xFF\xE0 truncated").unwrap();
        assert!(matches!(check_jpeg(&path), Err(PhotoError::NotJpeg)));
        assert!(matches!(
            check_jpeg(&dir.path().join("none.jpg")),
            Err(PhotoError::NoFile)
        ));
    }
}
