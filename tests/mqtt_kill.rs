//! The MQTT link across a SIGKILLed daemon (the real binary) and over TLS, against a real
//! Mosquitto: the broker publishes the last will `offline` when the daemon dies, `online` comes
//! back with the restart, and a daemon killed while publishing sends every event after its
//! restart. TLS with a test CA and a client certificate, refused without the certificate.

#[path = "common/mqtt.rs"]
mod broker;
mod common;
#[allow(dead_code)]
mod crash {
    #[path = "api.rs"]
    pub mod api;
    #[path = "daemon.rs"]
    pub mod daemon;
}

use broker::{Broker, BrokerTls, Observer, events, free_port};
use common::{Harness, config_text};
use crash::daemon::Daemon;
use serde_json::{Value, json};
use std::path::Path;
use tokio::time::Instant;

const PREFIX: &str = "lockerd/test-locker";

fn mqtt_table(broker: &Broker) -> String {
    format!("[mqtt]\nurl = \"{}\"\n", broker.url())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_will_says_offline_after_a_sigkill_and_online_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(&dir.path().join("broker")).await;
    let status = format!("{PREFIX}/status");
    let fleet = Observer::connect(broker.port, "fleet", &[&status]).await;
    let mut daemon = Daemon::new(dir.path());
    daemon.append_config(&mqtt_table(&broker));
    daemon.spawn();
    daemon.ready().await;
    fleet.wait_for_text(&status, "online").await;
    daemon.kill().await;
    fleet.wait_for_text(&status, "offline").await;
    daemon.spawn();
    daemon.ready().await;
    fleet.wait_for_text(&status, "online").await;
    assert!(daemon.stop().await.success());
    fleet.wait_for_text(&status, "offline").await;
    // Retained: a back end connecting now learns the locker is offline.
    let late = Observer::connect(broker.port, "late", &[&status]).await;
    let retained = late
        .wait_for("the retained status", |all| all.first().cloned())
        .await;
    assert_eq!(
        (retained.text().as_str(), retained.retain),
        ("offline", true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_killed_while_publishing_sends_every_event_after_its_restart() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(&dir.path().join("broker")).await;
    let fleet = Observer::connect(broker.port, "fleet", &[&format!("{PREFIX}/events")]).await;
    let mut daemon = Daemon::new(dir.path());
    daemon.append_config(&mqtt_table(&broker));
    let out = daemon
        .cli(&["token", "create", "--role", "operator", "--name", "ops"])
        .await;
    assert!(out.status.success(), "{out:?}");
    let operator = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    daemon.spawn();
    let api = daemon.ready().await;
    // Events as fast as the API takes them, and the kill while the link is still sending.
    let load = tokio::spawn({
        let (api, operator) = (api.clone(), operator.clone());
        async move {
            for n in 0.. {
                let action = if n % 2 == 0 { "disable" } else { "enable" };
                let path = format!("/api/v1/compartments/D2/{action}");
                if api
                    .post(&path, &operator, json!({"reason": "load"}))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    });
    fleet
        .wait_for("some events", |_| {
            (events(&fleet, PREFIX).len() >= 40).then_some(())
        })
        .await;
    daemon.kill().await;
    let _ = load.await;
    let before = events(&fleet, PREFIX).len();
    daemon.spawn();
    let api = daemon.ready().await;
    let feed = api
        .get_ok("/api/v1/sync/events?after=0&limit=1000", &operator)
        .await;
    let last = feed["last_seq"].as_i64().unwrap();
    assert!(last as usize > before, "killed with events still to send");
    let up = fleet
        .wait_for("every event", |_| {
            let up = events(&fleet, PREFIX);
            (up.len() as i64 >= last).then_some(up)
        })
        .await;
    let mut seqs: Vec<i64> = up.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    seqs.sort();
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>(), "nothing lost");
    let raw = fleet.messages(&format!("{PREFIX}/events")).len();
    eprintln!(
        "{last} events, {} duplicates before de-duplication",
        raw - up.len()
    );
    assert!(daemon.stop().await.success());
}

/// A CA, the broker's certificate (localhost, 127.0.0.1) and a client certificate, as PEM files.
fn test_pki(dir: &Path) -> (BrokerTls, std::path::PathBuf, std::path::PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    use std::os::unix::fs::PermissionsExt;
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // Distinct names: a leaf named like its issuer would look self-signed to the verifier.
    ca.distinguished_name
        .push(DnType::CommonName, "lockerd test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let leaf = |names: Vec<String>| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(names.clone()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, names[0].clone());
        let cert = params.signed_by(&key, &ca).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf(vec!["localhost".into(), "127.0.0.1".into()]);
    let (client_cert, client_key) = leaf(vec!["lockerd-test-locker".into()]);
    let tls = BrokerTls {
        port: free_port(),
        ca: write("ca.pem", ca.pem()),
        cert: write("server.pem", server_cert),
        key: write("server.key", server_key),
    };
    (
        tls,
        write("client.pem", client_cert),
        write("client.key", client_key),
    )
}

async fn healthz_mqtt(h: &Harness) -> Value {
    let (_, body) = h.get("/healthz", "").await;
    body["sync"]["mqtt"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_test_ca_and_a_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (tls, cert, key) = test_pki(dir.path());
    let broker = Broker::start_with(&dir.path().join("broker"), Some(&tls)).await;
    let status = format!("{PREFIX}/status");
    let fleet = Observer::connect(broker.port, "fleet", &[&status]).await;
    let table = |with_cert: bool| {
        let mut t = format!(
            "[mqtt]\nurl = \"mqtts://localhost:{}\"\nca_file = \"{}\"\n",
            tls.port,
            tls.ca.display()
        );
        if with_cert {
            t.push_str(&format!(
                "cert_file = \"{}\"\nkey_file = \"{}\"\n",
                cert.display(),
                key.display()
            ));
        }
        t
    };
    let h = Harness::start_config(broker::MQTT_PATIENCE, |state_dir| {
        format!("{}\n{}", config_text(state_dir, ""), table(true))
    })
    .await;
    fleet.wait_for_text(&status, "online").await;
    assert_eq!(healthz_mqtt(&h).await["connected"], true);
    h.stop().await;
    fleet.wait_for_text(&status, "offline").await;

    // Without a client certificate the broker refuses the handshake; /healthz says why.
    let h = Harness::start_config(broker::MQTT_PATIENCE, |state_dir| {
        format!("{}\n{}", config_text(state_dir, ""), table(false))
    })
    .await;
    let deadline = Instant::now() + broker::MQTT_PATIENCE;
    let m = loop {
        let m = healthz_mqtt(&h).await;
        if m["last_error"].is_string() {
            break m;
        }
        assert!(Instant::now() < deadline, "no error shown: {m}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(m["connected"], false, "{m}");
    assert_eq!(fleet.messages(&status).last().unwrap().text(), "offline");
    h.stop().await;
}
