//! `lockerd run` with the GPIO porch example on a machine that is not a Raspberry Pi: the real
//! binary must refuse to start with a plain message about GPIO (not a panic), within a few
//! seconds, and before it creates anything in its state directory (hardware is opened first).
//! On a Pi the GPIO would open for real, so the test skips itself there.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long the refusal may take; it needs no timeout of its own, so this is generous.
const DEADLINE: Duration = Duration::from_secs(10);

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples/gpio-porch.toml")
}

fn on_a_pi() -> bool {
    std::fs::read("/proc/device-tree/model")
        .is_ok_and(|model| String::from_utf8_lossy(&model).contains("Raspberry Pi"))
}

/// The example, as an installer would copy it, with its state directory and listener moved
/// into `dir` and onto a free port.
fn copy_example(dir: &Path) -> (PathBuf, PathBuf) {
    let text = std::fs::read_to_string(example()).expect("read the gpio-porch example");
    let mut file: toml::Table = text.parse().expect("the example is TOML");
    let state_dir = dir.join("state");
    let table = |file: &mut toml::Table, name: &str| -> toml::Table {
        match file.remove(name) {
            Some(toml::Value::Table(table)) => table,
            _ => toml::Table::new(),
        }
    };
    let mut locker = table(&mut file, "locker");
    locker.insert(
        "state_dir".into(),
        state_dir.to_str().expect("utf-8 temp path").into(),
    );
    file.insert("locker".into(), locker.into());
    let mut api = table(&mut file, "api");
    api.insert("listen".into(), "127.0.0.1:0".into());
    file.insert("api".into(), api.into());
    let path = dir.join("lockerd.toml");
    std::fs::write(&path, toml::to_string(&file).expect("serialize")).expect("write the config");
    (path, state_dir)
}

/// Runs `lockerd ARGS`, killing it if it outlives [`DEADLINE`].
fn lockerd(args: &[&std::ffi::OsStr]) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lockerd"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start lockerd");
    loop {
        if child.try_wait().expect("wait for lockerd").is_some() {
            break;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let output = child.wait_with_output().expect("collect output");
            panic!(
                "lockerd still running after {DEADLINE:?}; stderr:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("collect output");
    (output, started.elapsed())
}

#[test]
fn the_gpio_example_fails_to_start_off_a_pi_with_a_plain_message() {
    if on_a_pi() {
        eprintln!("skipped: this machine is a Raspberry Pi, its GPIO would open");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, state_dir) = copy_example(dir.path());

    // The file itself is fine: what fails is the hardware it names.
    let (checked, _) = lockerd(&[
        "check-config".as_ref(),
        "--config".as_ref(),
        config.as_ref(),
    ]);
    assert!(
        checked.status.success(),
        "check-config refused the example:\n{}",
        String::from_utf8_lossy(&checked.stderr)
    );

    let (output, took) = lockerd(&["run".as_ref(), "--config".as_ref(), config.as_ref()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "lockerd started without GPIO; stderr:\n{stderr}"
    );
    // An exit code, not a signal (a panic with panic = "abort" would end in SIGABRT); and not
    // the code of a refused config file.
    let code = output.status.code();
    assert!(
        code.is_some_and(|c| c != 0 && c != 2),
        "exit {:?}; stderr:\n{stderr}",
        output.status
    );
    assert!(
        took < Duration::from_secs(5),
        "took {took:?} to give up; stderr:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "a panic:\n{stderr}");
    assert!(
        stderr.to_lowercase().contains("gpio"),
        "the message does not mention gpio:\n{stderr}"
    );

    // Hardware is opened before the state directory: nothing was created there.
    assert!(
        !state_dir.join("lockerd.db").exists(),
        "a database was created before the hardware failed"
    );
    assert!(
        !state_dir.join("install.key").exists(),
        "an install key was created before the hardware failed"
    );
}
