//! One master per bus: while a daemon owns the hardware of a state directory, the `lockerd hw`
//! tools keep off it, even when they cannot find the daemon's listener.
//! The daemon gives the hardware back when it stops, even to a new daemon in the same process.

mod common;

use common::Harness;
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hw_tools_refuse_while_a_daemon_holds_the_hardware() {
    let h = Harness::start().await;
    // The same state directory, but a listen address nothing answers on (port 0): only the
    // hardware lock can tell that the daemon runs.
    let config = h.dir.path().join("hw.toml");
    std::fs::write(
        &config,
        common::config_text(&h.dir.path().join("state"), ""),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lockerd"))
        .args(["hw", "status", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "hw status ran beside the daemon: {stderr}"
    );
    assert!(stderr.contains("another lockerd"), "{stderr}");

    // Once the daemon has stopped, the tool runs.
    let dir = h.dir.clone();
    h.stop().await;
    let out = Command::new(env!("CARGO_BIN_EXE_lockerd"))
        .args(["hw", "status", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(dir);
}

/// A child forked by any thread of this process shares every file of it, the daemon's lock
/// file too, until it execs; a camera command on a loaded machine can take a while to. A daemon
/// stopped meanwhile must still free the hardware: one started again over the same state
/// directory in the same process runs.
#[tokio::test]
async fn a_daemon_starts_again_while_a_child_forked_before_the_stop_is_not_yet_gone() {
    let mut h = Harness::start().await;
    let child = Forked::hold();
    h.restart().await;
    drop(child);
    let (status, health) = h.request("GET", "/healthz", None, None).await;
    assert_eq!(status, 200, "{health}");
    h.stop().await;
}

/// A forked child that holds copies of the process's files, as one between fork and exec does,
/// until dropped.
struct Forked {
    pid: libc::pid_t,
    release: libc::c_int,
}

impl Forked {
    fn hold() -> Forked {
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two fds into the array it is given.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        let [wait, release] = fds;
        // SAFETY: the child only calls close, read and _exit (async-signal-safe, as a child of
        // a threaded process must); it blocks until the parent closes `release`.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            unsafe {
                libc::close(release);
                let mut byte = 0u8;
                libc::read(wait, (&raw mut byte).cast(), 1);
                libc::_exit(0);
            }
        }
        // SAFETY: `wait` is this process's own fd, used no more.
        unsafe { libc::close(wait) };
        Forked { pid, release }
    }
}

impl Drop for Forked {
    fn drop(&mut self) {
        // SAFETY: closing our end lets the child's read end; it is then reaped.
        unsafe {
            libc::close(self.release);
            libc::waitpid(self.pid, std::ptr::null_mut(), 0);
        }
    }
}
