//! The Debian package as `packaging/build-deb` makes it, from the binary just built (amd64 here;
//! arm64 and armhf are the same script on packaging/build-arm's binaries), read back with
//! dpkg-deb: what an installer gets. The install itself, under a real systemd, is
//! packaging/vm-test's (an arm64 virtual machine, too slow for CI).

use std::path::Path;
use std::process::Command;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn build(dir: &Path, version: &str) -> std::path::PathBuf {
    run(Command::new("packaging/build-deb")
        .args(["amd64", env!("CARGO_BIN_EXE_lockerd"), version])
        .env("LOCKERD_DEB_OUT", dir)
        .env("LOCKERD_DEB_COMPRESSION", "none"));
    dir.join(format!("lockerd_{version}_amd64.deb"))
}

#[test]
fn the_package_installs_the_binary_unit_sysusers_and_a_conffile_that_validates() {
    let dir = tempfile::tempdir().unwrap();
    let deb = build(dir.path(), "1.2.3");

    let control = run(Command::new("dpkg-deb").arg("-f").arg(&deb));
    for field in ["Package: lockerd", "Version: 1.2.3", "Architecture: amd64"] {
        assert!(control.contains(field), "{field} not in:\n{control}");
    }

    let listing = run(Command::new("dpkg-deb").arg("-c").arg(&deb));
    for (mode, path) in [
        ("-rwxr-xr-x root/root", "./usr/bin/lockerd"),
        (
            "-rw-r--r-- root/root",
            "./usr/lib/systemd/system/lockerd.service",
        ),
        ("-rw-r--r-- root/root", "./usr/lib/sysusers.d/lockerd.conf"),
        ("-rw-r--r-- root/root", "./etc/lockerd/lockerd.toml"),
        (
            "-rw-r--r-- root/root",
            "./usr/share/doc/lockerd/examples/waveshare-16.toml",
        ),
    ] {
        assert!(
            listing
                .lines()
                .any(|l| l.starts_with(mode) && l.ends_with(path)),
            "{mode} {path} not in:\n{listing}"
        );
    }

    let root = dir.path().join("root");
    run(Command::new("dpkg-deb").arg("-R").arg(&deb).arg(&root));
    let conffiles = std::fs::read_to_string(root.join("DEBIAN/conffiles")).unwrap();
    assert_eq!(conffiles, "/etc/lockerd/lockerd.toml\n");
    for script in ["postinst", "prerm", "postrm"] {
        let path = root.join("DEBIAN").join(script);
        run(Command::new("sh").arg("-n").arg(&path));
    }

    // The unit starts the packaged binary on the packaged config, whose state directory is the
    // unit's StateDirectory=.
    let unit =
        std::fs::read_to_string(root.join("usr/lib/systemd/system/lockerd.service")).unwrap();
    assert!(unit.contains("\nExecStart=/usr/bin/lockerd run --config /etc/lockerd/lockerd.toml\n"));
    assert!(unit.contains("\nStateDirectory=lockerd\n"));
    let config = root.join("etc/lockerd/lockerd.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.lines()
            .any(|l| l.trim() == r#"state_dir = "/var/lib/lockerd""#),
        "{text}"
    );
    let checked = run(Command::new(env!("CARGO_BIN_EXE_lockerd"))
        .args(["check-config", "--config"])
        .arg(&config));
    assert!(checked.contains(": ok, 12 compartments"), "{checked}");
}

#[test]
fn a_binary_of_another_architecture_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("packaging/build-deb")
        .args(["arm64", env!("CARGO_BIN_EXE_lockerd")])
        .env("LOCKERD_DEB_OUT", dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not an arm64 binary"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
