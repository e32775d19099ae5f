//! `lockerd check-config` as an installer runs it: the real binary on a file, judged by its exit
//! status and what it prints. A refused file must fail before anything else happens and name
//! the key to fix; the shipped default must pass and list its compartments.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn check_config(file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lockerd"))
        .arg("check-config")
        .arg("--config")
        .arg(file)
        .output()
        .expect("run lockerd")
}

/// Writes `text` as `lockerd.toml` in a fresh directory and runs `check-config` on it.
fn check_text(text: &str) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("lockerd.toml");
    std::fs::write(&file, text).expect("write config");
    check_config(&file)
}

/// Asserts that the file was refused (exit 2) with an error naming `key`.
#[track_caller]
fn assert_refused(output: &Output, key: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "expected exit 2, stderr:\n{stderr}"
    );
    assert!(stderr.contains("error: "), "stderr:\n{stderr}");
    assert!(
        stderr.contains(&format!("lockerd.toml: {key}: ")),
        "expected {key} in stderr:\n{stderr}"
    );
}

const SIM_BUS: &str = "[[bus]]\nname = \"sim\"\ndriver = \"sim\"\n";

fn compartment(id: &str, latch_bus: &str) -> String {
    format!(
        "[[compartment]]\nid = \"{id}\"\nsize = \"S\"\nlatch = {{ bus = \"{latch_bus}\" }}\ndoor = {{ bus = \"sim\" }}\n"
    )
}

fn default_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/lockerd.toml")
}

#[test]
fn an_unknown_key_is_refused_by_its_path() {
    let text = format!(
        "[api]\nlisen = \"127.0.0.1:8080\"\n{SIM_BUS}{}",
        compartment("A1", "sim")
    );
    assert_refused(&check_text(&text), "api.lisen");

    let text = format!("{SIM_BUS}{}colour = \"red\"\n", compartment("A1", "sim"));
    assert_refused(&check_text(&text), "compartment[0].colour");
}

#[test]
fn a_duplicate_compartment_id_is_refused() {
    let text = format!(
        "{SIM_BUS}{}{}",
        compartment("A1", "sim"),
        compartment("A1", "sim")
    );
    let output = check_text(&text);
    assert_refused(&output, "compartment[1].id");
    assert!(String::from_utf8_lossy(&output.stderr).contains("\"A1\""));
}

#[test]
fn a_latch_on_an_unknown_bus_is_refused() {
    let text = format!("{SIM_BUS}{}", compartment("A1", "rs485"));
    let output = check_text(&text);
    assert_refused(&output, "compartment[0].latch.bus");
    assert!(String::from_utf8_lossy(&output.stderr).contains("\"rs485\""));
}

#[test]
fn a_missing_file_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = check_config(&dir.path().join("absent.toml"));
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("absent.toml"));
}

#[test]
fn the_default_config_passes_and_lists_its_compartments() {
    let output = check_config(&default_config());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stderr:\n{stderr}");
    let ids: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(
        ids.contains(&"A1") && ids.contains(&"D2"),
        "stdout:\n{stdout}"
    );
}

#[test]
fn check_config_never_writes_the_state_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("lockerd.toml");
    let text = format!(
        "[locker]\nstate_dir = \"state\"\n{SIM_BUS}{}",
        compartment("A1", "sim")
    );
    std::fs::write(&file, text).expect("write config");
    let output = check_config(&file);
    assert!(
        output.status.success(),
        "stderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("A1"));
    assert!(
        !dir.path().join("state").exists(),
        "check-config created the state directory"
    );
}
