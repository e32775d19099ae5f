//! One connection to the broker, from CONNECT to its loss or a graceful stop.
//!
//! Every connection gets a fresh rumqttc client and event loop: rumqttc's own queue of unacked
//! publishes lives in memory only, so instead the feed is read again from the link's cursor
//! after every connect (the durable feed is the source of truth). Events are published in seq
//! order, at most `WINDOW` unacknowledged at once; the cursor moves only over a prefix of
//! events the broker has PUBACKed. rumqttc reports each publish it sends
//! (`Outgoing::Publish(pkid)`) in the order they were handed to it, which is how a PUBACK's
//! packet id is matched back to an event.

use super::command::{self, Answer};
use super::{Link as MqttLink, Topics};
use crate::http::LinkState;
use crate::locker::Principal;
use crate::sync::EventView;
use rumqttc::{AsyncClient, ConnectReturnCode, Event, EventLoop, Outgoing, Packet, Publish, QoS};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Events published and not yet acknowledged by the broker, at most.
const WINDOW: usize = 32;
/// `P/state` at most this often.
const STATE_EVERY: Duration = Duration::from_secs(1);
/// How often the state is looked at without a commit (a bus going down commits nothing).
const STATE_RECHECK: Duration = Duration::from_secs(5);
/// How long a graceful stop waits for the broker to take `offline`.
const GOODBYE: Duration = Duration::from_secs(2);

/// What a publish was, to act on its PUBACK.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Tag {
    Event(i64),
    Status,
    Other,
}

/// How a session ended.
pub enum Ended {
    /// Shutdown: `offline` was published and the connection closed.
    Stopped,
    /// The connection failed or dropped; whether it had been up (CONNACK).
    Lost { why: String, was_connected: bool },
}

pub struct Session<'a> {
    pub(super) link: &'a MqttLink,
    pub(super) client: AsyncClient,
    pub(super) connected: bool,
    pub(super) tags: VecDeque<Tag>,
    pub(super) inflight: HashMap<u16, Tag>,
    /// Published events in seq order, and whether the broker acknowledged each.
    pub(super) sent: VecDeque<(i64, bool)>,
    /// The highest seq handed to the client.
    pub(super) next_seq: i64,
    /// The feed may hold events after `next_seq`: read it when the window has room.
    pub(super) unread: bool,
    /// The cursor as last recorded in the store.
    pub(super) recorded: i64,
    pub(super) last_state: Option<LinkState>,
    pub(super) last_state_at: Option<Instant>,
    pub(super) state_due: bool,
    pub(super) ha_states: HashMap<String, String>,
    pub(super) ha_configs: Vec<(String, Value)>,
    pub(super) commands: mpsc::UnboundedSender<Publish>,
    pub(super) answers: mpsc::UnboundedReceiver<(Publish, Answer)>,
}

type Shutdown<'s> = Pin<&'s mut (dyn Future<Output = ()> + Send)>;

impl<'a> Session<'a> {
    pub fn new(link: &'a MqttLink, client: AsyncClient) -> Session<'a> {
        let (commands, mut incoming) = mpsc::unbounded_channel::<Publish>();
        let (answered, answers) = mpsc::unbounded_channel();
        // Commands run one after another beside the connection, which keeps being polled.
        // A command under way when the connection drops still finishes and records its result.
        let (http, client_id) = (link.http.clone(), link.config.client_id.clone());
        let secret = link.config.command_secret.clone();
        tokio::spawn(async move {
            while let Some(p) = incoming.recv().await {
                let secret = secret.as_ref().map(|s| s.expose().as_bytes());
                let answer = command::handle(&http, &client_id, secret, &p.payload).await;
                if answered.send((p, answer)).is_err() {
                    break;
                }
            }
        });
        Session {
            link,
            client,
            connected: false,
            tags: VecDeque::new(),
            inflight: HashMap::new(),
            sent: VecDeque::new(),
            next_seq: 0,
            unread: true,
            recorded: 0,
            last_state: None,
            last_state_at: None,
            state_due: true,
            ha_states: HashMap::new(),
            ha_configs: vec![],
            commands,
            answers,
        }
    }

    pub(super) fn topics(&self) -> &Topics {
        &self.link.topics
    }

    pub async fn run(mut self, ev: &mut EventLoop, mut shutdown: Shutdown<'_>) -> Ended {
        match self.serve(ev, &mut shutdown).await {
            Ok(()) => Ended::Stopped,
            Err(why) => Ended::Lost {
                why,
                was_connected: self.connected,
            },
        }
    }

    async fn serve(
        &mut self,
        ev: &mut EventLoop,
        shutdown: &mut Shutdown<'_>,
    ) -> Result<(), String> {
        let locker = self.link.http.locker().clone();
        let mut feed = locker.feed_changes();
        let mut commits = locker.changes();
        loop {
            if self.connected && self.unread && self.sent.len() < WINDOW {
                self.fill().await?;
            }
            let state_at = match (self.state_due, self.last_state_at) {
                (true, Some(at)) => at + STATE_EVERY,
                (true, None) => Instant::now(),
                (false, Some(at)) => at.max(Instant::now() - STATE_RECHECK) + STATE_RECHECK,
                (false, None) => Instant::now() + STATE_RECHECK,
            };
            tokio::select! {
                _ = shutdown.as_mut() => {
                    self.goodbye(ev).await;
                    return Ok(());
                }
                event = ev.poll() => match event {
                    Ok(event) => self.on_event(event).await?,
                    Err(e) => return Err(e.to_string()),
                },
                _ = feed.changed() => self.unread = true,
                _ = commits.changed() => self.state_due = true,
                Some((publish, answer)) = self.answers.recv() => {
                    let payload = answer.payload().to_string();
                    self.publish(&self.topics().result.clone(), payload.into_bytes(), false, Tag::Other)?;
                    self.client.try_ack(&publish).map_err(|e| e.to_string())?;
                }
                _ = tokio::time::sleep_until(state_at), if self.connected => {
                    let force = self.state_due && self.last_state.is_none();
                    self.publish_state(force).await?;
                }
            }
        }
    }

    pub(super) fn publish(
        &mut self,
        topic: &str,
        payload: Vec<u8>,
        retain: bool,
        tag: Tag,
    ) -> Result<(), String> {
        self.client
            .try_publish(topic, QoS::AtLeastOnce, retain, payload)
            .map_err(|e| format!("cannot queue a publish: {e}"))?;
        self.tags.push_back(tag);
        Ok(())
    }

    async fn on_event(&mut self, event: Event) -> Result<(), String> {
        match event {
            Event::Incoming(Packet::ConnAck(ack)) => {
                if ack.code != ConnectReturnCode::Success {
                    return Err(format!("the broker refused the connection: {:?}", ack.code));
                }
                self.on_connect().await
            }
            Event::Incoming(Packet::PubAck(ack)) => {
                if let Some(Tag::Event(seq)) = self.inflight.remove(&ack.pkid) {
                    self.acked(seq).await;
                }
                Ok(())
            }
            Event::Incoming(Packet::Publish(p)) => self.on_message(p).await,
            Event::Outgoing(Outgoing::Publish(pkid)) => {
                let tag = self.tags.pop_front().unwrap_or(Tag::Other);
                if pkid != 0 {
                    self.inflight.insert(pkid, tag);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    async fn on_connect(&mut self) -> Result<(), String> {
        self.connected = true;
        self.link.status.connected();
        let feed = self
            .link
            .http
            .locker()
            .feed_status()
            .await
            .map_err(|e| format!("cannot read the event feed: {e}"))?;
        // From what the fleet acknowledged, when that is behind what the broker took: a broker
        // may drop what it queued for a consumer that was away (Mosquitto keeps 1,000 messages
        // a client by default), so each connection sends again every event not acknowledged
        // on P/ack. Duplicates across a reconnect, never a loss.
        let from = feed.mqtt_seq.min(feed.pull_acked_seq);
        (self.next_seq, self.recorded, self.unread) = (from, feed.mqtt_seq, true);
        let t = self.topics().clone();
        let sub = |topic: &str| {
            self.client
                .try_subscribe(topic, QoS::AtLeastOnce)
                .map_err(|e| e.to_string())
        };
        sub(&t.ack)?;
        sub(&t.cmd)?;
        if let Some(ha) = &self.link.ha {
            sub(&ha.config_filter())?;
        }
        self.publish(&t.status, b"online".to_vec(), true, Tag::Status)?;
        tracing::info!(host = %self.link.config.host, from_seq = from, "MQTT link connected");
        self.last_state = None;
        self.ha_states.clear();
        self.ha_configs.clear();
        // The state, and the discovery configs, before anything the subscriptions bring is
        // read: a retained config is judged stale only against this connection's discovery.
        self.publish_state(true).await
    }

    /// A message on a topic the link subscribed to. Acknowledged (PUBACK) once handled: a
    /// command only once its result is published.
    async fn on_message(&mut self, p: Publish) -> Result<(), String> {
        let t = self.topics().clone();
        if p.topic == t.cmd {
            let _ = self.commands.send(p);
            return Ok(());
        }
        if p.topic == t.ack {
            self.on_ack(&p.payload).await;
        } else if let Some(ha) = &self.link.ha
            && !p.payload.is_empty()
            && !self.ha_configs.is_empty()
            && ha.is_stale(&p.topic, &self.ha_configs)
        {
            tracing::info!(topic = %p.topic, "removing a Home Assistant entity no longer configured");
            let topic = p.topic.clone();
            self.publish(&topic, vec![], true, Tag::Other)?;
        }
        self.client.try_ack(&p).map_err(|e| e.to_string())
    }

    /// `P/ack` `{"seq": N}`: the pull acknowledgement, as `POST /api/v1/sync/ack`.
    async fn on_ack(&self, payload: &[u8]) {
        let seq = serde_json::from_slice::<Value>(payload)
            .ok()
            .and_then(|v| v.get("seq").and_then(Value::as_i64));
        let Some(seq) = seq else {
            tracing::warn!("an MQTT acknowledgement without a seq ignored");
            return;
        };
        let actor = Principal::mqtt(&self.link.config.client_id);
        if let Err(e) = self.link.http.locker().ack(seq, &actor).await {
            tracing::warn!(seq, error = %e, "MQTT acknowledgement refused");
        }
    }

    /// Publishes the next events after the last one handed out, up to `WINDOW` outstanding.
    async fn fill(&mut self) -> Result<(), String> {
        while self.sent.len() < WINDOW {
            let room = WINDOW - self.sent.len();
            let locker = self.link.http.locker().clone();
            let (events, _) = locker
                .events(self.next_seq, room)
                .await
                .map_err(|e| format!("cannot read the event feed: {e}"))?;
            let count = events.len();
            for event in events {
                let (seq, kind, at) = (event.seq, event.kind.clone(), event.at);
                let parcel = event
                    .data
                    .get("parcel_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let payload =
                    serde_json::to_vec(&EventView::from(event)).map_err(|e| e.to_string())?;
                let topic = self.topics().events.clone();
                self.publish(&topic, payload, false, Tag::Event(seq))?;
                self.sent.push_back((seq, false));
                self.next_seq = seq;
                self.ha_event(&kind, at, parcel.as_deref()).await?;
            }
            if count < room {
                self.unread = false;
                break;
            }
        }
        Ok(())
    }

    /// The broker has event `seq`: the cursor moves over every acknowledged event in front. It
    /// is recorded (a transaction, an fsync) once caught up or every half window: after a crash
    /// the few events since are sent again, duplicates that consumers drop on `id`.
    async fn acked(&mut self, seq: i64) {
        if let Some(entry) = self.sent.iter_mut().find(|(s, _)| *s == seq) {
            entry.1 = true;
        }
        let mut through = None;
        while self.sent.front().is_some_and(|(_, acked)| *acked) {
            through = self.sent.pop_front().map(|(s, _)| s);
        }
        let Some(through) = through else { return };
        let locker = self.link.http.locker();
        self.link.status.published(locker.now());
        if !self.sent.is_empty() && through - self.recorded < (WINDOW / 2) as i64 {
            return;
        }
        if let Err(e) = locker.mqtt_published(through).await {
            // The events are sent again after the next connect: duplicates, never a loss.
            tracing::warn!(error = %e, through, "cannot record the MQTT link's cursor");
            return;
        }
        self.recorded = through;
    }

    /// Publishes `offline` (retained) and disconnects, waiting a little for the broker.
    async fn goodbye(&mut self, ev: &mut EventLoop) {
        if !self.connected {
            return;
        }
        let status = self.topics().status.clone();
        if self
            .publish(&status, b"offline".to_vec(), true, Tag::Status)
            .is_err()
        {
            return;
        }
        let deadline = Instant::now() + GOODBYE;
        let mut offline_pkid = None;
        while let Ok(Ok(event)) = tokio::time::timeout_at(deadline, ev.poll()).await {
            match event {
                Event::Outgoing(Outgoing::Publish(pkid))
                    if self.tags.pop_front() == Some(Tag::Status) && self.tags.is_empty() =>
                {
                    offline_pkid = Some(pkid);
                }
                Event::Incoming(Packet::PubAck(ack)) if Some(ack.pkid) == offline_pkid => break,
                _ => {}
            }
        }
        let _ = self.client.try_disconnect();
        while let Ok(Ok(event)) = tokio::time::timeout_at(deadline, ev.poll()).await {
            if matches!(event, Event::Outgoing(Outgoing::Disconnect)) {
                break;
            }
        }
    }
}
