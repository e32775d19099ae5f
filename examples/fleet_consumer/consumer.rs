//! The fleet consumer's logic, apart from its command line: subscribe for any number of
//! lockers under a topic filter, store each event once (de-duplicated on its `id`), and
//! acknowledge a locker's feed on `P/ack` in seq order, only once everything up to it is stored.
//! Delivery is at least once, so duplicates are normal after a reconnect; they are counted.

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where each locker (by its topic prefix `P`) stands.
#[derive(Debug, Default)]
struct Locker {
    /// Every event up to here is stored (and acknowledged).
    acked: i64,
    /// Stored events past a gap, waiting for the gap to fill.
    ahead: BTreeSet<i64>,
}

/// What was stored, and how far each locker can be acknowledged.
#[derive(Debug, Default)]
pub struct Ledger {
    seen: HashSet<String>,
    lockers: HashMap<String, Locker>,
    pub stored: u64,
    pub duplicates: u64,
}

impl Ledger {
    /// The ledger of the events already in `store` (one JSON object a line:
    /// `{"locker": P, "event": {...}}`).
    pub fn load(store: &Path) -> std::io::Result<Ledger> {
        let mut ledger = Ledger::default();
        let text = match std::fs::read_to_string(store) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ledger),
            Err(e) => return Err(e),
        };
        for line in text.lines() {
            let Ok(record) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let prefix = record["locker"].as_str().unwrap_or_default().to_owned();
            let (id, seq) = (
                record["event"]["id"].as_str(),
                record["event"]["seq"].as_i64(),
            );
            if let (Some(id), Some(seq)) = (id, seq) {
                ledger.seen.insert(id.to_owned());
                let locker = ledger.lockers.entry(prefix).or_default();
                locker.acked = locker.acked.max(seq);
            }
        }
        Ok(ledger)
    }

    /// An event of `prefix`: whether it is new (to be stored), and then, once stored
    /// ([`Ledger::stored`]), how far the locker may be acknowledged.
    pub fn is_new(&mut self, prefix: &str, event: &Value) -> bool {
        let (Some(id), Some(seq)) = (event["id"].as_str(), event["seq"].as_i64()) else {
            return false;
        };
        let locker = self
            .lockers
            .entry(prefix.to_owned())
            .or_insert_with(|| Locker {
                // First sight of this locker: it starts where it is first seen. Events published
                // before this consumer's session existed never reach it (read them by pull once,
                // `GET /api/v1/sync/events`); keep the session (a stable client id) so none is missed.
                acked: seq - 1,
                ahead: BTreeSet::new(),
            });
        if seq <= locker.acked || !self.seen.insert(id.to_owned()) {
            self.duplicates += 1;
            return false;
        }
        true
    }

    /// Event `seq` of `prefix` is stored; returns the seq to acknowledge, if the contiguous
    /// stored prefix grew.
    pub fn stored(&mut self, prefix: &str, seq: i64) -> Option<i64> {
        self.stored += 1;
        let locker = self.lockers.entry(prefix.to_owned()).or_default();
        locker.ahead.insert(seq);
        let before = locker.acked;
        while locker.ahead.remove(&(locker.acked + 1)) {
            locker.acked += 1;
        }
        (locker.acked > before).then_some(locker.acked)
    }
}

pub struct Options {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    /// Topic filter of the lockers' prefixes, e.g. `lockerd/+`.
    pub filter: String,
    pub store: PathBuf,
    /// Told once the subscription is in place.
    pub subscribed: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Consumes until `stop` is set; reconnects by itself (persistent session: the broker keeps
/// events while the consumer is away).
///
/// The event loop runs in a task of its own that does nothing but poll and hand messages over:
/// a publish (an ack) awaited in the same loop that polls would wait for ever once rumqttc's
/// request queue is full, because only polling empties it.
pub async fn run(
    mut options: Options,
    stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<Ledger> {
    let mut ledger = Ledger::load(&options.store)?;
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&options.store)?;
    let mut mqtt = MqttOptions::new(&options.client_id, &options.host, options.port);
    mqtt.set_clean_session(false)
        .set_manual_acks(true)
        .set_keep_alive(Duration::from_secs(30))
        .set_max_packet_size(16 * 1024 * 1024, 1024 * 1024);
    let (client, mut eventloop) = AsyncClient::new(mqtt, 1000);
    let events = format!("{}/events", options.filter);
    // Bounded in practice by the broker's in-flight window: every message waits for our ack.
    let (incoming, mut messages) = tokio::sync::mpsc::unbounded_channel();
    let poller = tokio::spawn({
        let client = client.clone();
        let mut subscribed = options.subscribed.take();
        async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        // try_: never wait on the queue this loop alone empties.
                        let _ = client.try_subscribe(&events, QoS::AtLeastOnce);
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        if let Some(subscribed) = subscribed.take() {
                            let _ = subscribed.send(());
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if incoming.send(p).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        eprintln!("broker: {e}; reconnecting");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        }
    });
    let mut stop = stop;
    let result = loop {
        let p = tokio::select! {
            _ = stop.wait_for(|s| *s) => break Ok(()),
            p = messages.recv() => match p {
                Some(p) => p,
                None => break Ok(()),
            },
        };
        if let Err(e) = handle(&client, &mut ledger, &mut out, &p).await {
            break Err(e);
        }
    };
    poller.abort();
    result.map(|()| ledger)
}

/// Stores a new event, acknowledges the locker as far as everything is stored, then takes the
/// message off the broker (PUBACK).
async fn handle(
    client: &AsyncClient,
    ledger: &mut Ledger,
    out: &mut std::fs::File,
    p: &rumqttc::Publish,
) -> std::io::Result<()> {
    let prefix = p.topic.trim_end_matches("/events").to_owned();
    if let Ok(event) = serde_json::from_slice::<Value>(&p.payload)
        && ledger.is_new(&prefix, &event)
    {
        // Stored (and synced to disk) before it is acknowledged anywhere.
        writeln!(out, "{}", json!({"locker": prefix, "event": event}))?;
        out.sync_data()?;
        if let Some(seq) = ledger.stored(&prefix, event["seq"].as_i64().unwrap_or(0)) {
            let ack = json!({"seq": seq}).to_string();
            let topic = format!("{prefix}/ack");
            client
                .publish(topic, QoS::AtLeastOnce, false, ack)
                .await
                .map_err(std::io::Error::other)?;
        }
    }
    client.ack(p).await.map_err(std::io::Error::other)
}

/// A command for the locker at `prefix`, signed when `secret` is given, expiring after `ttl`.
pub fn command(name: &str, args: Value, ttl: Duration, secret: Option<&[u8]>) -> Value {
    let expires = time::OffsetDateTime::now_utc() + ttl;
    let expires = expires
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut cmd = json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "expires_at": expires,
        "command": name,
        "args": args,
    });
    if let Some(secret) = secret {
        cmd["sig"] = json!(lockerd::mqtt::sign(secret, &cmd));
    }
    cmd
}
