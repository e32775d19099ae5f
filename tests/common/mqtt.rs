//! A real Mosquitto (Debian's package) for the MQTT tests, started on free loopback ports with
//! a config of the test's own (persistence in the test's directory, so a restarted broker keeps
//! its retained messages and sessions), and an observing client that records what it receives.

#![allow(dead_code)]

use crate::common::{Harness, config_text};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::process::{Child, Command};
use tokio::time::Instant;

/// How long a broker or a message may take on a loaded two-core machine.
pub const MQTT_PATIENCE: Duration = Duration::from_secs(30);

/// A free loopback port (bound and released: the broker takes it right after).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().unwrap().port()
}

/// TLS for a second listener: the CA, the server's certificate and key (PEM files).
pub struct BrokerTls {
    pub port: u16,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub struct Broker {
    pub port: u16,
    dir: PathBuf,
    config: PathBuf,
    child: Option<Child>,
}

impl Broker {
    /// Starts Mosquitto on a free port, anonymous access, persistence under `dir`.
    pub async fn start(dir: &Path) -> Broker {
        Self::start_with(dir, None).await
    }

    /// With `tls`, also a TLS listener that requires a client certificate signed by its CA.
    pub async fn start_with(dir: &Path, tls: Option<&BrokerTls>) -> Broker {
        std::fs::create_dir_all(dir).unwrap();
        let port = free_port();
        let mut text = format!(
            "per_listener_settings false\nallow_anonymous true\npersistence true\n\
             persistence_location {}/\nautosave_interval 1\nmax_queued_messages 1000000\n\
             listener {port} 127.0.0.1\n",
            dir.display()
        );
        // Started as root (a CI container), Mosquitto would drop to the `mosquitto` user, which
        // cannot read the test's private files or write its persistence.
        // SAFETY: geteuid(2) has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            text.push_str("user root\n");
        }
        if let Some(tls) = tls {
            text.push_str(&format!(
                "listener {} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\n\
                 require_certificate true\n",
                tls.port,
                tls.ca.display(),
                tls.cert.display(),
                tls.key.display()
            ));
        }
        let config = dir.join("mosquitto.conf");
        std::fs::write(&config, text).unwrap();
        let mut broker = Broker {
            port,
            dir: dir.to_owned(),
            config,
            child: None,
        };
        broker.spawn().await;
        broker
    }

    async fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("mosquitto.log"))
            .unwrap();
        let child = Command::new(mosquitto())
            .arg("-c")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("spawn mosquitto (Debian's package: .ci/run installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + MQTT_PATIENCE;
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "mosquitto did not listen");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the broker (SIGTERM: it saves its persistence) and waits for it to exit.
    pub async fn stop(&mut self) {
        let mut child = self.child.take().expect("running");
        let pid = child.id().expect("running") as libc::pid_t;
        // SAFETY: kill(2) on the pid of a child not yet reaped.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        child.wait().await.expect("reap mosquitto");
    }

    /// Starts it again on the same port, over its persistence.
    pub async fn restart(&mut self) {
        self.spawn().await;
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

fn mosquitto() -> &'static str {
    if Path::new("/usr/sbin/mosquitto").exists() {
        "/usr/sbin/mosquitto"
    } else {
        "mosquitto"
    }
}

/// One message an observer received.
#[derive(Debug, Clone)]
pub struct Message {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
}

impl Message {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.payload)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e})", self.topic))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }
}

/// A client subscribed to some topic filters, recording every message; it reconnects by
/// itself (rumqttc's event loop) when the broker comes back.
pub struct Observer {
    pub client: AsyncClient,
    received: Arc<Mutex<Vec<Message>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Observer {
    pub async fn connect(port: u16, id: &str, filters: &[&str]) -> Observer {
        let mut options = MqttOptions::new(id, "127.0.0.1", port);
        options
            .set_keep_alive(Duration::from_secs(5))
            .set_clean_session(false)
            .set_max_packet_size(16 * 1024 * 1024, 1024 * 1024);
        let (client, mut eventloop) = AsyncClient::new(options, 100);
        let received = Arc::new(Mutex::new(vec![]));
        let (subscribed_tx, subscribed) = tokio::sync::oneshot::channel();
        let filters: Vec<String> = filters.iter().map(|f| f.to_string()).collect();
        let task = tokio::spawn({
            let received = received.clone();
            let client = client.clone();
            async move {
                let mut subscribed_tx = Some(subscribed_tx);
                loop {
                    match eventloop.poll().await {
                        Ok(Event::Incoming(Packet::ConnAck(_))) => {
                            for f in &filters {
                                client.subscribe(f, QoS::AtLeastOnce).await.unwrap();
                            }
                        }
                        Ok(Event::Incoming(Packet::SubAck(_))) => {
                            if let Some(tx) = subscribed_tx.take() {
                                let _ = tx.send(());
                            }
                        }
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            received.lock().unwrap().push(Message {
                                topic: p.topic.clone(),
                                payload: p.payload.to_vec(),
                                retain: p.retain,
                            });
                        }
                        Ok(_) => {}
                        Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    }
                }
            }
        });
        tokio::time::timeout(MQTT_PATIENCE, subscribed)
            .await
            .expect("the observer subscribed in time")
            .unwrap();
        Observer {
            client,
            received,
            task,
        }
    }

    pub fn messages(&self, topic: &str) -> Vec<Message> {
        let all = self.received.lock().unwrap();
        all.iter().filter(|m| m.topic == topic).cloned().collect()
    }

    pub fn all(&self) -> Vec<Message> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `found` picks something out of everything received so far.
    pub async fn wait_for<T>(&self, what: &str, found: impl Fn(&[Message]) -> Option<T>) -> T {
        let deadline = Instant::now() + MQTT_PATIENCE;
        loop {
            let received = self.all();
            if let Some(t) = found(&received) {
                return t;
            }
            assert!(Instant::now() < deadline, "never received: {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for the last message on `topic` to be `text`.
    pub async fn wait_for_text(&self, topic: &str, text: &str) {
        self.wait_for(&format!("{topic} = {text}"), |all| {
            let last = all.iter().rev().find(|m| m.topic == topic)?;
            (last.payload == text.as_bytes()).then_some(())
        })
        .await
    }

    pub async fn publish(&self, topic: &str, payload: Vec<u8>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .await
            .unwrap();
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Every event of `P/events` received, de-duplicated on `id`, in the order first received.
pub fn events(observer: &Observer, prefix: &str) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    observer
        .messages(&format!("{prefix}/events"))
        .iter()
        .map(Message::json)
        .filter(|e| seen.insert(e["id"].as_str().unwrap().to_owned()))
        .collect()
}

/// A daemon on the usual simulated locker, linked to `broker` (`extra`: more `[mqtt]` keys).
pub async fn start(broker: &Broker, extra: &str) -> Harness {
    let url = broker.url();
    let extra = extra.to_owned();
    Harness::start_config(MQTT_PATIENCE, move |state_dir| {
        format!(
            "{}\n[mqtt]\nurl = \"{url}\"\n{extra}",
            config_text(state_dir, "")
        )
    })
    .await
}

pub async fn healthz_mqtt(h: &Harness) -> Value {
    let (status, body) = h.get("/healthz", "").await;
    assert_eq!(status, 200, "{body}");
    body["sync"]["mqtt"].clone()
}

/// Waits until `/healthz` shows the broker has every event (nothing outstanding).
pub async fn wait_published(h: &Harness) -> Value {
    let deadline = tokio::time::Instant::now() + MQTT_PATIENCE;
    loop {
        let m = healthz_mqtt(h).await;
        if m["connected"] == true && m["outstanding"] == 0 {
            return m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never caught up: {m}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
