//! systemd/ under systemd's own tools: the unit through `systemd-analyze verify` and
//! `systemd-analyze security --offline=true`, the sysusers file through `systemd-sysusers`
//! into a scratch root. The tools come from Debian's `systemd` package, which `.ci/run`
//! installs; without them these tests fail rather than pass unchecked.
//!
//! What `verify` checks here: every line parses and every value is one systemd accepts when
//! loading the unit (an unknown key or a bad value is only a warning to `verify`, and does not
//! always change its exit status, so any output fails the test), ExecStart is an executable
//! (the built binary stands in for /usr/bin/lockerd), and the units it names exist.
//! What it cannot check in a container: that the `lockerd` user exists (`verify` does not look
//! User= up; the sysusers test covers the user and its groups), the DeviceAllow= groups (looked
//! up in the Pi's /proc/devices when the service starts), and the sandbox at run time (there is
//! no systemd running here to start the unit).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const UNIT: &str = include_str!("../systemd/lockerd.service");
const SYSUSERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/lockerd.sysusers");

/// Runs one of systemd's tools; a missing tool fails the test with how to get it.
fn run(tool: &str, args: &[&str], path: &Path) -> Output {
    match Command::new(tool).args(args).arg(path).output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "{tool} is missing: install Debian's systemd package (`apt-get install -y systemd`, \
             as .ci/run does)"
        ),
        Err(e) => panic!("cannot run {tool}: {e}"),
    }
}

/// The unit as installed, but starting the binary just built, in a scratch directory (the file
/// name must stay lockerd.service).
fn unit_copy(dir: &Path, unit: &str) -> PathBuf {
    let installed = "ExecStart=/usr/bin/lockerd ";
    assert!(
        unit.contains(installed),
        "ExecStart names the installed binary"
    );
    let built = format!("ExecStart={} ", env!("CARGO_BIN_EXE_lockerd"));
    let path = dir.join("lockerd.service");
    std::fs::write(&path, unit.replace(installed, &built)).unwrap();
    path
}

/// `systemd-analyze verify`: Ok, or everything it said.
fn verify(unit: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let path = unit_copy(dir.path(), unit);
    let out = run("systemd-analyze", &["verify", "--man=no"], &path);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    match out.status.success() && said.trim().is_empty() {
        true => Ok(()),
        false => Err(format!("{}: {said}", out.status)),
    }
}

#[test]
fn the_unit_passes_systemd_analyze_verify() {
    if let Err(said) = verify(UNIT) {
        panic!("systemd-analyze verify systemd/lockerd.service: {said}");
    }
}

#[test]
fn a_line_systemd_would_ignore_fails_the_check() {
    let broken = UNIT.replace(
        "ProtectHome=yes\n",
        "ProtectHome=yes\nProtectHome=sometimes\n",
    );
    let said = verify(&broken).expect_err("a bad value is reported");
    assert!(said.contains("sometimes"), "{said}");
    let unknown = UNIT.replace("UMask=0077\n", "UMask=0077\nWatchDogSec=30s\n");
    let said = verify(&unknown).expect_err("an unknown key is reported");
    assert!(said.contains("WatchDogSec"), "{said}");
}

/// The exposure level the unit's header comment states, e.g. `Exposure level: 1.5`.
fn documented_exposure() -> f64 {
    let line = UNIT
        .lines()
        .find_map(|l| l.split("Exposure level: ").nth(1))
        .expect("the unit's header states its exposure level");
    line.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn the_exposure_level_is_no_worse_than_the_unit_says() {
    let dir = tempfile::tempdir().unwrap();
    let path = unit_copy(dir.path(), UNIT);
    let out = run("systemd-analyze", &["security", "--offline=true"], &path);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let overall = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for lockerd.service: ")
                .nth(1)
        })
        .unwrap_or_else(|| panic!("no overall exposure level in: {text}"));
    let level: f64 = overall.split_whitespace().next().unwrap().parse().unwrap();
    let documented = documented_exposure();
    assert!(
        level <= documented,
        "exposure {level} is worse than the {documented} the unit states:\n{text}"
    );
}

#[test]
fn sysusers_creates_the_user_in_the_gpio_and_dialout_groups() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("etc")).unwrap();
    let root_arg = format!("--root={}", root.path().display());
    let out = run("systemd-sysusers", &[&root_arg], Path::new(SYSUSERS));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let passwd = std::fs::read_to_string(root.path().join("etc/passwd")).unwrap();
    let user = passwd
        .lines()
        .find(|l| l.starts_with("lockerd:"))
        .unwrap_or_else(|| panic!("no lockerd user in: {passwd}"));
    let fields: Vec<&str> = user.split(':').collect();
    assert_eq!(fields[5], "/var/lib/lockerd", "home is the StateDirectory");
    assert!(fields[6].ends_with("nologin"), "no login shell: {user}");
    let group = std::fs::read_to_string(root.path().join("etc/group")).unwrap();
    for name in ["gpio", "dialout"] {
        let line = group
            .lines()
            .find(|l| l.starts_with(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} group in: {group}"));
        let members = line.rsplit(':').next().unwrap();
        assert!(
            members.split(',').any(|m| m == "lockerd"),
            "lockerd is in {name}: {line}"
        );
    }
}
