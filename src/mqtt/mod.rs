//! The fleet link (`[mqtt]`): one outbound MQTT connection that carries the event feed up
//! (`P/events`), acknowledgements (`P/ack`) and commands (`P/cmd`, answered on `P/cmd/result`)
//! down, the locker's state (`P/state`, retained), `online`/`offline` on `P/status` (retained,
//! the last will), and Home Assistant discovery (`ha`). `P` is `mqtt.topic_prefix`.
//!
//! The link is a task of its own reading the durable feed from its own cursor
//! (`Locker::mqtt_published`, moved by the broker's PUBACK): nothing in a request path waits
//! on it, so a broker that is down never slows a deposit or a pickup; the feed simply waits.
//! It reconnects for ever with jittered back-off (1 s doubling to 60 s), each connection a
//! `session`. Logs name topics, seqs and errors, never a payload (events carry pickup codes),
//! a password or the command secret.

mod command;
mod ha;
mod session;
mod state;

pub use command::{canonical, sign};
pub use ha::object_id;

use crate::config::{Config, MqttConfig};
use crate::http::Monitoring;
use crate::sync::{Backoff, MqttStatus};
use rumqttc::{AsyncClient, LastWill, MqttOptions, QoS, TlsConfiguration, Transport};
use session::{Ended, Session};
use std::future::Future;
use std::time::Duration;

/// The topics under `P`.
#[derive(Debug, Clone)]
pub struct Topics {
    pub status: String,
    pub events: String,
    pub ack: String,
    pub state: String,
    pub cmd: String,
    pub result: String,
}

impl Topics {
    pub fn new(prefix: &str) -> Topics {
        Topics {
            status: format!("{prefix}/status"),
            events: format!("{prefix}/events"),
            ack: format!("{prefix}/ack"),
            state: format!("{prefix}/state"),
            cmd: format!("{prefix}/cmd"),
            result: format!("{prefix}/cmd/result"),
        }
    }
}

/// The link's task and what it works with.
pub struct Link {
    http: crate::http::Link,
    config: MqttConfig,
    status: MqttStatus,
    topics: Topics,
    ha: Option<ha::Ha>,
}

/// Waits of the reconnection back-off.
const BACKOFF: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));

impl Link {
    /// The link of `config`'s `[mqtt]`, if any; `monitoring` is what `/healthz` reads (it must
    /// carry `status`, which the link keeps up to date).
    pub fn new(
        config: &Config,
        locker: &crate::locker::Locker,
        monitoring: Monitoring,
        status: MqttStatus,
    ) -> Option<Link> {
        let mqtt = config.mqtt.clone()?;
        let photos = config.photo.argv().is_some();
        let ha = mqtt.home_assistant.then(|| {
            ha::Ha::new(
                &mqtt.discovery_prefix,
                &mqtt.topic_prefix,
                &mqtt.client_id,
                &config.locker.name,
                photos,
            )
        });
        Some(Link {
            http: crate::http::Link::new(locker.clone(), monitoring),
            topics: Topics::new(&mqtt.topic_prefix),
            config: mqtt,
            status,
            ha,
        })
    }

    fn options(&self) -> MqttOptions {
        let c = &self.config;
        let mut o = MqttOptions::new(c.client_id.clone(), c.host.clone(), c.port);
        o.set_keep_alive(c.keepalive)
            .set_clean_session(false)
            .set_manual_acks(true)
            .set_inflight(100)
            // Commands are API bodies (64 KiB at most); a photo goes up as one message.
            .set_max_packet_size(256 * 1024, 8 * 1024 * 1024)
            .set_last_will(LastWill::new(
                &self.topics.status,
                "offline",
                QoS::AtLeastOnce,
                true,
            ));
        match (&c.username, &c.password) {
            (Some(user), password) => {
                let password = password.as_ref().map(|p| p.expose().to_owned());
                o.set_credentials(user.clone(), password.unwrap_or_default());
            }
            (None, Some(password)) => {
                o.set_credentials(String::new(), password.expose().to_owned());
            }
            (None, None) => {}
        }
        if let Some(tls) = &c.tls {
            o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
                tls.clone(),
            )));
        }
        o
    }

    /// Connects, and again after every loss, until `shutdown` completes; then publishes
    /// `offline` and disconnects.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let _stopped = StoppedOnDrop(self.status.clone());
        let mut shutdown: std::pin::Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(shutdown);
        let mut backoff = Backoff::new(BACKOFF.0, BACKOFF.1);
        let (host, port) = (self.config.host.clone(), self.config.port);
        tracing::info!(%host, port, tls = self.config.tls.is_some(), "MQTT link starting");
        loop {
            self.status.connecting();
            let (client, mut eventloop) = AsyncClient::new(self.options(), 1024);
            let session = Session::new(&self, client);
            let ended = session.run(&mut eventloop, shutdown.as_mut()).await;
            let (why, was_connected) = match ended {
                Ended::Stopped => break,
                Ended::Lost { why, was_connected } => (why, was_connected),
            };
            if was_connected {
                backoff.reset();
            }
            let delay = backoff.next(&mut rand::rng());
            let next = self.http.locker().now().plus(delay);
            let failures = self.status.failed(&why, next);
            tracing::warn!(
                error = %why, failures, retry_in_ms = delay.as_millis() as u64,
                "MQTT link down"
            );
            tokio::select! {
                _ = shutdown.as_mut() => break,
                _ = tokio::time::sleep(delay) => {}
            }
        }
        tracing::info!("MQTT link stopped");
    }
}

/// Starts the link of `[mqtt]`, if configured; it stops at `stop`.
pub fn start(
    config: &Config,
    locker: &crate::locker::Locker,
    monitoring: Monitoring,
    status: MqttStatus,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Option<tokio::task::JoinHandle<()>> {
    let link = Link::new(config, locker, monitoring, status)?;
    let host = &link.config.host;
    if link.config.tls.is_none() && !crate::config::is_loopback(host) {
        tracing::warn!(%host, "mqtt.url is plain mqtt://: pickup codes cross the network unencrypted");
    }
    Some(tokio::spawn(link.run(stop)))
}

/// Marks the link stopped however its task ends.
struct StoppedOnDrop(MqttStatus);

impl Drop for StoppedOnDrop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            tracing::error!("the MQTT link panicked; events wait for a restart");
        }
        self.0.stopped();
    }
}
