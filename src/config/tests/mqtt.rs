//! `[mqtt]`: optional; defaults from `locker.name`; plaintext only to loopback; files checked.

use super::*;

fn with_mqtt(keys: &str) -> String {
    with(&format!("[locker]\nname = \"lobby-1\"\n[mqtt]\n{keys}"))
}

#[test]
fn without_the_table_there_is_no_link() {
    assert!(ok(&with("")).mqtt.is_none());
}

#[test]
fn an_mqtt_table_gets_the_documented_defaults() {
    let mqtt = ok(&with_mqtt("url = \"mqtt://127.0.0.1\""))
        .mqtt
        .expect("configured");
    assert_eq!((mqtt.host.as_str(), mqtt.port), ("127.0.0.1", 1883));
    assert!(mqtt.tls.is_none());
    assert_eq!(mqtt.client_id, "lockerd-lobby-1");
    assert_eq!(mqtt.topic_prefix, "lockerd/lobby-1");
    assert_eq!(mqtt.discovery_prefix, "homeassistant");
    assert_eq!(mqtt.keepalive, Duration::from_secs(30));
    assert!(!mqtt.home_assistant);
    assert!(mqtt.command_secret.is_none() && mqtt.password.is_none());

    let mqtt = ok(&with_mqtt(
        "url = \"mqtts://broker.example.net\"\nclient_id = \"x\"\ntopic_prefix = \"fleet/x/\"",
    ))
    .mqtt
    .unwrap();
    assert_eq!(mqtt.port, 8883);
    assert!(mqtt.tls.is_some(), "mqtts uses the system roots");
    assert_eq!(mqtt.topic_prefix, "fleet/x");
}

#[test]
fn plain_mqtt_leaves_this_machine_only_when_allowed() {
    refused(
        &with_mqtt("url = \"mqtt://broker.example.net\""),
        "mqtt.url",
        "allow_plaintext",
    );
    let allowed = "url = \"mqtt://broker.example.net:1884\"\nallow_plaintext = true";
    assert_eq!(ok(&with_mqtt(allowed)).mqtt.unwrap().port, 1884);
    ok(&with_mqtt("url = \"mqtt://localhost:1884\""));
    ok(&with_mqtt("url = \"mqtt://[::1]:1884\""));
}

#[test]
fn bad_urls_and_prefixes_are_refused() {
    for url in [
        "http://broker",
        "mqtt://",
        "mqtt://h:99999",
        "mqtts://user:pw@h",
    ] {
        refused(&with_mqtt(&format!("url = \"{url}\"")), "mqtt.url", "");
    }
    refused(
        &with_mqtt("url = \"mqtt://localhost\"\ntopic_prefix = \"a/+/b\""),
        "mqtt.topic_prefix",
        "wildcards",
    );
    refused(
        &with_mqtt("url = \"mqtt://localhost\"\nkeepalive = \"1s\""),
        "mqtt.keepalive",
        "5s",
    );
    refused(
        &with_mqtt("url = \"mqtt://localhost\"\nca_file = \"ca.pem\""),
        "mqtt.ca_file",
        "mqtts",
    );
    refused(
        &with_mqtt("url = \"mqtt://localhost\"\nbogus = 1"),
        "mqtt.bogus",
        "unknown",
    );
}

#[test]
fn secret_files_must_be_private_and_are_never_shown() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("cmd.secret");
    std::fs::write(&secret, "0123456789abcdef0123456789abcdef\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let text = with_mqtt(&format!(
        "url = \"mqtt://localhost\"\ncommand_secret_file = \"{}\"",
        secret.display()
    ));
    refused(&text, "mqtt.command_secret_file", "chmod 600");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mqtt = ok(&text).mqtt.unwrap();
    assert_eq!(
        mqtt.command_secret.as_ref().unwrap().expose(),
        "0123456789abcdef0123456789abcdef"
    );
    assert!(!format!("{mqtt:?}").contains("0123456789abcdef"));
    std::fs::write(&secret, "short").unwrap();
    refused(&text, "mqtt.command_secret_file", "at least 32");
}
