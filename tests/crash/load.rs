//! The mixed load: a few couriers-and-recipients working at once, each a task with its own
//! parcels (so no two tasks ever touch one parcel) and its own seeded random choices.
//!
//! A worker is a client that survives crashes: it never trusts what it last did, it asks the
//! locker where each parcel stands and takes the next step from there (close the open door,
//! confirm the closed deposit, pick up the stored parcel with the latest published code). An
//! answer lost to a kill is learnt after the restart: a deposit by looking its tracking id up,
//! a pickup or confirm by the parcel's state. What it saw answered goes into the [`Ledger`].

use super::api::{Api, Lost};
use super::ledger::Ledger;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, watch};

/// Parcels a worker keeps in the locker at once: four workers fill at most 8 of the 12
/// compartments, so deposits rarely find no room.
const MAX_LIVE: usize = 2;
/// How long a worker waits before asking again about a door or a latch.
const PAUSE: Duration = Duration::from_millis(15);

pub struct Tokens {
    pub operator: String,
    pub kiosk: String,
    pub sync: String,
}

/// What the workers share: the daemon of the moment (`None` while it is down, with a number
/// that grows at each start), the tokens, and the ledger.
pub struct Shared {
    pub tokens: Tokens,
    pub ledger: Mutex<Ledger>,
    pub daemon: watch::Receiver<Option<(u64, Api)>>,
    /// Finish what is underway, start nothing new, and return.
    pub draining: AtomicBool,
}

/// One parcel's story, as a client knows it.
struct Item {
    tracking: String,
    size: &'static str,
    /// Brought by a driver without an account (`POST /api/v1/deliveries`, open drop) rather
    /// than deposited by the worker's courier.
    by_driver: bool,
    /// A delivery's own session, once its answer arrived; a delivery whose answer a kill took
    /// is stored by the locker after the deposit grace instead of confirmed.
    token: Option<String>,
    /// The locker's parcel for it, once known.
    parcel: Option<String>,
    /// A deposit was sent and its answer lost: the locker decides what happened.
    unsure: bool,
    /// A recipient has come for it.
    want_pickup: bool,
    /// Waiting for nothing: stored and not wanted yet, collected, or not (yet) deposited.
    rest: bool,
    done: bool,
}

pub struct Worker {
    id: usize,
    session: String,
    rng: StdRng,
    items: Vec<Item>,
}

impl Worker {
    pub fn new(id: usize, session: String, seed: u64) -> Worker {
        let rng = StdRng::seed_from_u64(seed.wrapping_add(id as u64));
        Worker {
            id,
            session,
            rng,
            items: vec![],
        }
    }

    /// Works until draining finds every parcel at rest (or the daemon handle is dropped).
    pub async fn run(mut self, shared: Arc<Shared>) {
        let mut daemon = shared.daemon.clone();
        let mut first = 0;
        loop {
            let Some((epoch, api)) = next_daemon(&mut daemon, first).await else {
                return;
            };
            let draining = shared.draining.load(Ordering::SeqCst);
            if draining && self.items.iter().all(|i| i.rest) {
                return;
            }
            match self.step(&api, &shared, draining).await {
                Ok(()) => first = epoch,
                // Wait for the next daemon: this one is gone.
                Err(Lost) => {
                    shared.ledger.lock().await.stats.lost_answers += 1;
                    first = epoch + 1;
                }
            }
        }
    }

    async fn step(&mut self, api: &Api, sh: &Shared, draining: bool) -> Result<(), Lost> {
        if let Some(item) = self.items.iter_mut().find(|i| !i.rest) {
            return item.advance(api, sh, &self.session).await;
        }
        if draining {
            return Ok(());
        }
        // Everything is at rest: an item with a parcel and not done is stored.
        let stored: Vec<usize> = (0..self.items.len())
            .filter(|&i| self.items[i].parcel.is_some() && !self.items[i].done)
            .collect();
        let waiting =
            (0..self.items.len()).find(|&i| self.items[i].parcel.is_none() && !self.items[i].done);
        let full = stored.len() >= MAX_LIVE;
        if !stored.is_empty() && (full || self.rng.random_bool(0.4)) {
            let item = &mut self.items[stored[self.rng.random_range(0..stored.len())]];
            (item.want_pickup, item.rest) = (true, false);
        } else if let Some(i) = waiting {
            self.items[i].rest = false;
        } else {
            self.new_item();
        }
        Ok(())
    }

    /// A parcel not deposited yet, of a random size (small ones most often); one in three is
    /// brought by a driver without an account.
    fn new_item(&mut self) {
        let sizes = ["S", "S", "S", "S", "M", "M", "M", "L", "L", "XL"];
        let n = self.items.len();
        self.items.push(Item {
            tracking: format!("W{}-{n}", self.id),
            size: sizes[self.rng.random_range(0..sizes.len())],
            by_driver: self.rng.random_bool(1.0 / 3.0),
            token: None,
            parcel: None,
            unsure: false,
            want_pickup: false,
            rest: false,
            done: false,
        });
    }
}

/// The daemon numbered `first` or later, once it is up; `None` once the test has ended.
async fn next_daemon(
    rx: &mut watch::Receiver<Option<(u64, Api)>>,
    first: u64,
) -> Option<(u64, Api)> {
    loop {
        if let Some((epoch, api)) = &*rx.borrow_and_update()
            && *epoch >= first
        {
            return Some((*epoch, api.clone()));
        }
        rx.changed().await.ok()?;
    }
}

impl Item {
    /// One step towards rest, chosen from where the locker says the parcel stands.
    async fn advance(&mut self, api: &Api, sh: &Shared, session: &str) -> Result<(), Lost> {
        let Some(parcel) = self.parcel.clone() else {
            return self.deposit(api, sh, session).await;
        };
        let op = sh.tokens.operator.as_str();
        let (status, view) = api
            .get(&format!("/api/v1/parcels/{parcel}"), Some(op))
            .await?;
        if status != 200 {
            let what = format!("GET parcel {parcel} ({}): {status} {view}", self.tracking);
            self.give_up(sh, what).await;
            return Ok(());
        }
        let compartment = view["compartment"].as_str().unwrap_or_default();
        match (view["state"].as_str().unwrap_or_default(), &view["removal"]) {
            ("opening", _) => tokio::time::sleep(PAUSE).await,
            // The deposit's door, or a pickup's, is open: the hand closes it.
            ("open", _) | ("stored", Value::String(_)) => {
                api.door(op, compartment, false).await?;
                tokio::time::sleep(PAUSE).await;
            }
            ("closed", _) => self.confirm(api, sh, session, &parcel).await?,
            ("stored", _) if self.want_pickup => self.pickup(api, sh, &parcel).await?,
            ("stored", _) => self.rest = true,
            ("collected", _) => (self.done, self.rest) = (true, true),
            ("cancelled", _) => {
                // The restart gave the deposit up (its door was never seen open): the courier
                // still has the parcel and will deposit it again.
                sh.ledger.lock().await.stats.deposits_undone += 1;
                (self.parcel, self.rest) = (None, true);
            }
            (state, _) => {
                let what = format!("parcel {parcel} ({}) is {state}", self.tracking);
                self.give_up(sh, what).await;
            }
        }
        Ok(())
    }

    async fn give_up(&mut self, sh: &Shared, what: String) {
        sh.ledger.lock().await.complain(what);
        (self.done, self.rest) = (true, true);
    }

    async fn deposit(&mut self, api: &Api, sh: &Shared, session: &str) -> Result<(), Lost> {
        if self.unsure {
            // The deposit's answer was lost: the locker has a live parcel for it, or none.
            self.parcel = find_live(api, &sh.tokens.operator, &self.tracking).await?;
            self.unsure = false;
            self.rest = self.parcel.is_none();
            if self.rest {
                sh.ledger.lock().await.stats.deposits_undone += 1;
            }
            return Ok(());
        }
        let body = json!({"tracking_id": self.tracking, "size": self.size});
        let (path, token) = match self.by_driver {
            true => ("/api/v1/deliveries", sh.tokens.kiosk.as_str()),
            false => ("/api/v1/deposits", session),
        };
        self.unsure = true;
        let (status, answer) = api.post(path, token, body).await?;
        self.unsure = false;
        let mut ledger = sh.ledger.lock().await;
        match (status, answer["error"]["code"].as_str()) {
            (201, _) => {
                let parcel = answer["parcel_id"].as_str().unwrap_or_default().to_owned();
                self.token = answer["token"].as_str().map(str::to_owned);
                if self.by_driver {
                    ledger.stats.deliveries += 1;
                }
                ledger.deposited.insert(parcel.clone());
                ledger.stats.deposits += 1;
                self.parcel = Some(parcel);
            }
            (409, Some("no_compartment_available")) | (503, _) => {
                ledger.stats.no_room += 1;
                self.rest = true;
                drop(ledger);
                tokio::time::sleep(PAUSE).await;
            }
            _ => {
                let what = format!("deposit {}: {status} {answer}", self.tracking);
                drop(ledger);
                self.give_up(sh, what).await;
            }
        }
        Ok(())
    }

    async fn confirm(
        &mut self,
        api: &Api,
        sh: &Shared,
        session: &str,
        parcel: &str,
    ) -> Result<(), Lost> {
        let session = match (self.by_driver, &self.token) {
            (false, _) => session,
            (true, Some(token)) => token.as_str(),
            // The delivery's answer, and its session, were lost to a kill: the locker stores
            // the parcel once the deposit grace has passed.
            (true, None) => {
                tokio::time::sleep(PAUSE).await;
                return Ok(());
            }
        };
        let path = format!("/api/v1/deposits/{parcel}/confirm");
        let (status, answer) = api.post(&path, session, json!({})).await?;
        let mut ledger = sh.ledger.lock().await;
        match status {
            200 => {
                ledger.stored.insert(parcel.to_owned());
                ledger.stats.confirms += 1;
            }
            // The door was seen open again meanwhile: the next step closes it.
            409 => {}
            // A delivery's session ends once its parcel is stored: the grace stored it first.
            401 if self.by_driver => {}
            _ => ledger.complain(format!("confirm {parcel}: {status} {answer}")),
        }
        Ok(())
    }

    async fn pickup(&mut self, api: &Api, sh: &Shared, parcel: &str) -> Result<(), Lost> {
        let mut ledger = sh.ledger.lock().await;
        ledger.read_feed(api, &sh.tokens.sync).await?;
        let Some(code) = ledger.codes.get(parcel).cloned() else {
            drop(ledger);
            let what = format!("stored parcel {parcel} has no code in the feed");
            self.give_up(sh, what).await;
            return Ok(());
        };
        // Before sending: a lost answer may still have collected it.
        ledger.pickup_sent.insert(parcel.to_owned());
        drop(ledger);
        let answer = api
            .post("/api/v1/pickup", &sh.tokens.kiosk, json!({"code": code}))
            .await?;
        let mut ledger = sh.ledger.lock().await;
        match answer {
            (200, body) => {
                ledger.stats.pickups += 1;
                *ledger.opened.entry((parcel.to_owned(), code)).or_default() += 1;
                if body["parcel_id"] != parcel {
                    ledger.complain(format!("pickup of {parcel} answered {body}"));
                }
                drop(ledger);
                let compartment = body["compartment"]["id"].as_str().unwrap_or_default();
                api.door(&sh.tokens.operator, compartment, false).await?;
            }
            (401, _) => {
                // A restart that could not tell whether the door opened gave it a new code,
                // which the next step uses; the same code refused means the parcel has none.
                ledger.read_feed(api, &sh.tokens.sync).await?;
                if ledger.codes.get(parcel) == Some(&code) {
                    drop(ledger);
                    let what = format!("the latest code of stored parcel {parcel} is refused");
                    self.give_up(sh, what).await;
                }
            }
            // The latch did not open; the code stays valid.
            (503, _) => {}
            (status, body) => ledger.complain(format!("pickup of {parcel}: {status} {body}")),
        }
        Ok(())
    }
}

/// The live parcel the locker has for `tracking`, if any (every page of `GET /parcels`).
async fn find_live(api: &Api, operator: &str, tracking: &str) -> Result<Option<String>, Lost> {
    let (mut found, mut after) = (None, String::new());
    loop {
        let path = format!("/api/v1/parcels?limit=500&after={after}");
        let (_, page) = api.get(&path, Some(operator)).await?;
        for p in page["parcels"].as_array().into_iter().flatten() {
            let live = !matches!(
                p["state"].as_str(),
                Some("collected" | "returned" | "cancelled")
            );
            if p["tracking_id"] == tracking && live {
                found = p["id"].as_str().map(str::to_owned);
            }
        }
        match page["next"].as_str() {
            Some(next) => after = next.to_owned(),
            None => return Ok(found),
        }
    }
}

/// Takes one parcel through deposit, door closed, confirm and, with `pickup`, a pickup and its
/// door closed, with no crash in the way (a fixture for the checker's own test); returns its id.
pub async fn deliver(
    api: &Api,
    sh: &Shared,
    session: &str,
    tracking: &str,
    pickup: bool,
) -> String {
    let mut item = Item {
        tracking: tracking.to_owned(),
        size: "S",
        by_driver: false,
        token: None,
        parcel: None,
        unsure: false,
        want_pickup: pickup,
        rest: false,
        done: false,
    };
    for _ in 0..2000 {
        item.advance(api, sh, session)
            .await
            .expect("no crash during a delivery");
        if item.rest {
            break;
        }
    }
    assert!(
        item.rest && item.done == pickup,
        "{tracking} did not settle"
    );
    item.parcel.expect("deposited")
}
