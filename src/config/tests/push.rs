//! `[sync.push]`: optional, with a URL and a secret that has no default and never shows.

use super::*;

const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn with_push(keys: &str) -> String {
    with(&format!("[sync.push]\n{keys}"))
}

#[test]
fn without_the_table_nothing_is_pushed() {
    assert!(ok(&with("")).sync.push.is_none());
    assert!(ok(&with("[sync]\nretention = \"1d\"")).sync.push.is_none());
}

#[test]
fn a_push_table_gets_the_documented_defaults() {
    let config = ok(&with_push(&format!(
        "url = \"https://cloud.example/lockers\"\nsecret = \"{SECRET}\""
    )));
    let push = config.sync.push.expect("push configured");
    assert_eq!(push.url.as_str(), "https://cloud.example/lockers");
    assert_eq!(push.secret.expose(), SECRET.as_bytes());
    assert_eq!(push.batch, 100);
    assert_eq!(push.backoff_min, Duration::from_secs(1));
    assert_eq!(push.backoff_max, Duration::from_secs(300));
    assert_eq!(push.timeout, Duration::from_secs(10));

    let config = ok(&with_push(&format!(
        "url = \"http://127.0.0.1:9000/in\"\nsecret = \"{SECRET}\"\nbatch = 1000\n\
         backoff_min = \"50ms\"\nbackoff_max = \"200ms\"\ntimeout = \"2s\""
    )));
    let push = config.sync.push.unwrap();
    assert_eq!(push.batch, 1000);
    assert_eq!(push.backoff_min, Duration::from_millis(50));
    assert_eq!(push.backoff_max, Duration::from_millis(200));
    assert_eq!(push.timeout, Duration::from_secs(2));
}

#[test]
fn the_secret_never_shows_in_debug_output() {
    let config = ok(&with_push(&format!(
        "url = \"https://cloud.example/\"\nsecret = \"{SECRET}\""
    )));
    let debug = format!("{config:?}");
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
}

#[test]
fn a_url_needs_a_secret_of_32_characters() {
    refused(
        &with_push("url = \"https://cloud.example/\""),
        "sync.push.secret",
        "required with sync.push.url",
    );
    let error = refused(
        &with_push("url = \"https://cloud.example/\"\nsecret = \"hunter2-hunter2\""),
        "sync.push.secret",
        "at least 32 characters, got 15",
    );
    assert!(!error.to_string().contains("hunter2"), "{error}");
    refused(
        &with_push(&format!("secret = \"{SECRET}\"")),
        "sync.push.url",
        "required key is missing",
    );
}

#[test]
fn the_url_must_be_http_or_https_without_credentials() {
    let cases = [
        ("cloud.example/in", "not a URL"),
        ("ftp://cloud.example/in", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        (
            "https://user:pa55word@cloud.example/",
            "must not carry a user",
        ),
    ];
    for (url, fragment) in cases {
        let text = with_push(&format!("url = \"{url}\"\nsecret = \"{SECRET}\""));
        let error = refused(&text, "sync.push.url", fragment);
        assert!(!error.to_string().contains("pa55word"), "{error}");
    }
}

#[test]
fn plain_http_leaves_this_machine_only_with_allow_plaintext() {
    for url in ["http://cloud.example/in", "http://192.0.2.7:8080/in"] {
        let keys = format!("url = \"{url}\"\nsecret = \"{SECRET}\"");
        refused(
            &with_push(&keys),
            "sync.push.url",
            "sync.push.allow_plaintext = true",
        );
        let allowed = ok(&with_push(&format!("{keys}\nallow_plaintext = true")));
        assert!(allowed.sync.push.unwrap().allow_plaintext);
    }
    for url in [
        "http://127.0.0.1:9000/in",
        "http://localhost/in",
        "http://[::1]/in",
        "https://cloud.example/in",
    ] {
        let config = ok(&with_push(&format!(
            "url = \"{url}\"\nsecret = \"{SECRET}\""
        )));
        assert!(!config.sync.push.unwrap().allow_plaintext, "{url}");
    }
}

#[test]
fn batch_backoff_and_timeout_are_bounded() {
    let base = format!("url = \"https://cloud.example/\"\nsecret = \"{SECRET}\"\n");
    let cases = [
        ("batch = 0", "sync.push.batch", "1..=1000, got 0"),
        ("batch = 1001", "sync.push.batch", "1..=1000, got 1001"),
        (
            "backoff_min = \"0s\"",
            "sync.push.backoff_min",
            "longer than 0s",
        ),
        (
            "backoff_min = \"2s\"\nbackoff_max = \"1s\"",
            "sync.push.backoff_max",
            "shorter than sync.push.backoff_min",
        ),
        (
            "backoff_max = \"2h\"",
            "sync.push.backoff_max",
            "at most 1h",
        ),
        ("timeout = \"0s\"", "sync.push.timeout", "longer than 0s"),
        ("timeout = \"10m\"", "sync.push.timeout", "at most 5m"),
        ("timeout = 10", "sync.push.timeout", "duration"),
        ("secrets = \"x\"", "sync.push.secrets", "unknown key"),
    ];
    for (line, key, fragment) in cases {
        refused(&with_push(&format!("{base}{line}")), key, fragment);
    }
}

#[test]
fn the_secret_may_come_from_a_file_next_to_the_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("push.secret"), format!("  {SECRET}\n")).unwrap();
    let source = dir.path().join("lockerd.toml");
    let text = with_push("url = \"https://cloud.example/\"\nsecret_file = \"push.secret\"");
    let config = Config::parse(&text, &source).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.sync.push.unwrap().secret.expose(), SECRET.as_bytes());

    std::fs::write(dir.path().join("short.secret"), "abc\n").unwrap();
    let text = with_push("url = \"https://cloud.example/\"\nsecret_file = \"short.secret\"");
    let error = Config::parse(&text, &source).unwrap_err();
    assert_eq!(error.key, "sync.push.secret_file");
    assert!(error.message.contains("at least 32"), "{error}");

    let text = with_push("url = \"https://cloud.example/\"\nsecret_file = \"missing.secret\"");
    let error = Config::parse(&text, &source).unwrap_err();
    assert_eq!(error.key, "sync.push.secret_file");
    assert!(error.message.contains("cannot read"), "{error}");

    let text = with_push(&format!(
        "url = \"https://cloud.example/\"\nsecret = \"{SECRET}\"\nsecret_file = \"push.secret\""
    ));
    let error = Config::parse(&text, &source).unwrap_err();
    assert_eq!(error.key, "sync.push.secret_file");
    assert!(error.message.contains("not both"), "{error}");
}
