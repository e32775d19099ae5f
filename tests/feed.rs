//! The event feed's guarantees, end to end: `seq` runs 1, 2, 3, ... without gaps or repeats
//! across graceful restarts and crashes, event ids are distinct UUIDs, pages are capped; and an
//! event is visible exactly when the state change it describes committed, whenever the daemon
//! dies.
//!
//! `crash_and_restart` kills the daemon's tasks, but a database write already running on a
//! blocking thread still finishes, so it never lands between two commits of one request. A
//! power cut can: the test copies the committed state of the live database mid-load (what
//! `synchronous = FULL` leaves after a power cut) and starts a second daemon on it. That is
//! what sees an event written in a transaction of its own, before or after its change.

mod common;

use common::{Api, Harness};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::watch;

const COMPARTMENTS: [&str; 12] = [
    "A1", "A2", "A3", "A4", "B1", "B2", "B3", "B4", "C1", "C2", "D1", "D2",
];

/// `method path` with `token`, or `None` when the daemon went away (crashed or stopped) before
/// answering: a request that did not answer may or may not have had its effect.
async fn call(
    api: &Api,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Option<(u16, Value)> {
    let mut req = api.http.request(method.parse().unwrap(), api.url(path));
    req = req.bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.ok()?;
    let status = resp.status().as_u16();
    let text = resp.text().await.ok()?;
    Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// The whole feed, paged with `limit=1000`, and the `last_seq` it reports.
async fn whole_feed(api: &Api, token: &str) -> (Vec<Value>, i64) {
    let mut events: Vec<Value> = vec![];
    loop {
        let after = events.last().map_or(0, |e| e["seq"].as_i64().unwrap());
        let path = format!("/api/v1/sync/events?after={after}&limit=1000");
        let (status, page) = api.get(&path, token).await;
        assert_eq!(status, 200, "{page}");
        let batch = page["events"].as_array().expect("events");
        assert!(batch.len() <= 1000, "a page of {} events", batch.len());
        if batch.is_empty() {
            return (events, page["last_seq"].as_i64().expect("last_seq"));
        }
        events.extend(batch.iter().cloned());
    }
}

/// `seq` is exactly 1..=N in order, `last_seq` is N, and every id is a UUID no other event has.
fn assert_gap_free_with_unique_ids(events: &[Value], last_seq: i64, context: &str) {
    for (i, event) in events.iter().enumerate() {
        let want = i as i64 + 1;
        assert_eq!(
            event["seq"], want,
            "{context}: event #{want} of the feed is {event}"
        );
    }
    assert_eq!(last_seq, events.len() as i64, "{context}: last_seq");
    let mut ids = HashSet::new();
    for event in events {
        let id = event["id"].as_str().unwrap_or_default();
        let uuid = uuid::Uuid::parse_str(id)
            .unwrap_or_else(|e| panic!("{context}: id of {event} is not a UUID: {e}"));
        assert!(
            ids.insert(uuid),
            "{context}: the id of {event} was used before"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 10,000 events across restarts and crashes.

/// One disable or enable request of one compartment and what became of it.
#[derive(Debug)]
struct Toggle {
    /// The disable's reason (unique, so its event is told apart); `None` for an enable.
    disable: Option<String>,
    /// Answered 200, so committed; or, unanswered, whether the state after it shows it took.
    committed: Option<bool>,
}

impl Toggle {
    fn event_type(&self) -> &'static str {
        match self.disable {
            Some(_) => "compartment.disabled",
            None => "compartment.enabled",
        }
    }
}

/// Disables and enables `compartment` by turns, starting from its state, until `quota`
/// requests have answered or the daemon goes away; counts answers in `answered`.
async fn toggler(
    api: Api,
    operator: String,
    compartment: &'static str,
    round: usize,
    quota: usize,
    answered: Arc<watch::Sender<usize>>,
) -> Vec<Toggle> {
    let (_, now) = api
        .get(&format!("/api/v1/compartments/{compartment}"), &operator)
        .await;
    let mut disable = now["state"] != "disabled";
    let mut log = vec![];
    for n in 0..quota {
        let (path, reason) = match disable {
            true => ("disable", Some(format!("round {round} #{n}"))),
            false => ("enable", None),
        };
        let path = format!("/api/v1/compartments/{compartment}/{path}");
        let body = reason.as_ref().map(|r| json!({"reason": r}));
        let answer = call(&api, "POST", &path, &operator, body).await;
        let committed = answer.map(|(status, body)| {
            assert_eq!(status, 200, "{path}: {body}");
            true
        });
        log.push(Toggle {
            disable: reason,
            committed,
        });
        if committed.is_none() {
            break;
        }
        answered.send_modify(|n| *n += 1);
        disable = !disable;
    }
    log
}

/// How a round of toggles ends once `after` requests have answered.
enum Interruption {
    None,
    Restart { after: usize },
    Crash { after: usize },
}

/// Toggles every compartment `quota` times, 12 requests in flight; adds what was sent to `logs`.
async fn toggle_round(
    h: &mut Harness,
    round: usize,
    quota: usize,
    stop: Interruption,
    logs: &mut HashMap<&'static str, Vec<Toggle>>,
) {
    let answered = Arc::new(watch::channel(0).0);
    let togglers: Vec<_> = COMPARTMENTS
        .iter()
        .map(|c| {
            let (api, op, answered) = (h.api.clone(), h.operator.clone(), answered.clone());
            tokio::spawn(toggler(api, op, c, round, quota, answered))
        })
        .collect();
    let mut answers = answered.subscribe();
    match stop {
        Interruption::None => {}
        Interruption::Restart { after } => {
            answers.wait_for(|n| *n >= after).await.unwrap();
            h.restart().await;
        }
        Interruption::Crash { after } => {
            answers.wait_for(|n| *n >= after).await.unwrap();
            h.crash_and_restart().await;
        }
    }
    for (c, toggler) in COMPARTMENTS.iter().zip(togglers) {
        let mut log = toggler.await.expect("toggler");
        // A toggle the daemon did not answer took effect iff the compartment shows it now.
        if let Some(last) = log.last_mut().filter(|t| t.committed.is_none()) {
            let state = h.compartment(c).await["state"].clone();
            last.committed = Some((state == "disabled") == last.disable.is_some());
        }
        logs.entry(c).or_default().extend(log);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_across_restarts_are_gap_free_ordered_and_unique() {
    let mut h = Harness::start().await;
    let mut logs = HashMap::new();
    let rounds = [
        Interruption::Restart { after: 1000 },
        Interruption::Crash { after: 1500 },
        Interruption::None,
        Interruption::Crash { after: 700 },
    ];
    for (round, stop) in rounds.into_iter().enumerate() {
        toggle_round(&mut h, round, 250, stop, &mut logs).await;
        if round == 2 {
            h.restart().await;
        }
    }
    // Top up to 10,000 committed changes, then a crash with nothing in flight.
    let committed = |logs: &HashMap<_, Vec<Toggle>>| {
        let all = logs.values().flatten();
        all.filter(|t| t.committed == Some(true)).count()
    };
    let missing = 10_000usize.saturating_sub(committed(&logs));
    toggle_round(
        &mut h,
        9,
        missing.div_ceil(12),
        Interruption::None,
        &mut logs,
    )
    .await;
    h.crash_and_restart().await;

    let (events, last_seq) = whole_feed(&h, &h.sync).await;
    assert_gap_free_with_unique_ids(&events, last_seq, "after restarts and crashes");
    let n = events.len() as i64;
    // Besides the audit log's head, published at each start (and hourly, not reached here).
    let changes = events.iter().filter(|e| e["type"] != "audit.head").count();
    assert!(changes >= 10_000, "{changes} events");
    assert_eq!(changes, committed(&logs), "one event per committed change");
    for c in COMPARTMENTS {
        // Exactly the committed toggles of `c`, in the order they were made, and the last one
        // is what the compartment shows.
        let published: Vec<(&str, &str)> = events
            .iter()
            .filter(|e| e["data"]["compartment"] == c)
            .map(|e| {
                (
                    e["type"].as_str().unwrap(),
                    e["data"]["reason"].as_str().unwrap(),
                )
            })
            .collect();
        let made: Vec<(&str, &str)> = logs[c]
            .iter()
            .filter(|t| t.committed == Some(true))
            .map(|t| (t.event_type(), t.disable.as_deref().unwrap_or("")))
            .collect();
        assert!(published == made, "{c}: feed {published:?}\nmade {made:?}");
        let disabled = h.compartment(c).await["state"] == "disabled";
        assert_eq!(
            disabled,
            made.last().unwrap().0 == "compartment.disabled",
            "{c}"
        );
    }

    // Paging: the default page, the cap, a page from the middle, the end and past it.
    let page = |query: String| {
        let api = h.api.clone();
        let sync = h.sync.clone();
        async move {
            let (status, page) = api
                .get(&format!("/api/v1/sync/events?{query}"), &sync)
                .await;
            assert_eq!(
                (status, &page["last_seq"]),
                (200, &json!(n)),
                "{query}: {page}"
            );
            let seqs = page["events"].as_array().unwrap().iter();
            seqs.map(|e| e["seq"].as_i64().unwrap()).collect::<Vec<_>>()
        }
    };
    assert_eq!(page(String::new()).await, (1..=100).collect::<Vec<_>>());
    assert_eq!(
        page("after=0&limit=5000".into()).await,
        (1..=1000).collect::<Vec<_>>()
    );
    let middle = page("after=4321&limit=7".into()).await;
    assert_eq!(middle, (4322..=4328).collect::<Vec<_>>());
    assert_eq!(
        page(format!("after={}&limit=1000", n - 3)).await,
        [n - 2, n - 1, n]
    );
    assert_eq!(page(format!("after={n}")).await, Vec::<i64>::new());
    assert_eq!(page(format!("after={}", n + 1000)).await, Vec::<i64>::new());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_paging_parameters_are_invalid_requests_naming_the_parameter() {
    let h = Harness::start().await;
    for (query, field) in [
        ("after=-1", "after"),
        ("after=x", "after"),
        ("limit=0", "limit"),
        ("limit=-1", "limit"),
        ("after=0&limit=many", "limit"),
    ] {
        let path = format!("/api/v1/sync/events?{query}");
        let (status, body) = h.get(&path, &h.sync).await;
        let error = &body["error"];
        assert_eq!(
            (status, error["code"].as_str()),
            (400, Some("invalid_request")),
            "{query}: {body}"
        );
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(field),
            "{query}: {message:?} does not name {field}"
        );
    }
    h.stop().await;
}

// ---------------------------------------------------------------------------------------------
// An event is visible exactly when its state change committed.

/// Whether a parcel in `state` agrees with its last event saying `published`. Only deposits
/// move without an event: `opening` goes on to `open` and `closed` (and back, on a reopen).
fn published_as(published: &str, state: &str) -> bool {
    published == state || (published == "opening" && matches!(state, "open" | "closed"))
}

/// Every parcel in the locker, paged with the `next` cursor.
async fn all_parcels(api: &Api, operator: &str) -> Vec<Value> {
    let mut parcels = vec![];
    let mut path = "/api/v1/parcels".to_owned();
    loop {
        let (status, page) = api.get(&path, operator).await;
        assert_eq!(status, 200, "{page}");
        parcels.extend(page["parcels"].as_array().expect("parcels").iter().cloned());
        match page["next"].as_str() {
            Some(next) => path = format!("/api/v1/parcels?after={next}"),
            None => return parcels,
        }
    }
}

/// The feed and the state agree as they must if every event is written in the transaction of
/// its change: the last `parcel.*` event of every parcel names its state, no event is about a
/// parcel that does not exist, and a compartment is disabled (faulted) exactly when its last
/// disabled/enabled/fault event says so. An event committed apart from its change breaks this
/// whenever the daemon dies between the two commits.
async fn assert_feed_agrees_with_state(api: &Api, operator: &str, sync: &str, context: &str) {
    let (events, last_seq) = whole_feed(api, sync).await;
    assert_gap_free_with_unique_ids(&events, last_seq, context);
    let parcels = all_parcels(api, operator).await;
    let ids: HashSet<&str> = parcels.iter().map(|p| p["id"].as_str().unwrap()).collect();
    let mut last_parcel_event = HashMap::new();
    let mut last_service_event = HashMap::new();
    for event in &events {
        let (kind, data) = (event["type"].as_str().unwrap(), &event["data"]);
        if kind.starts_with("parcel.") {
            let parcel = data["parcel_id"].as_str().unwrap();
            assert!(
                ids.contains(parcel),
                "{context}: {event} is about no parcel"
            );
            last_parcel_event.insert(parcel, event);
        }
        if let Some(mark) = kind.strip_prefix("compartment.") {
            last_service_event.insert(data["compartment"].as_str().unwrap(), mark);
        }
    }
    for parcel in &parcels {
        let (id, state) = (
            parcel["id"].as_str().unwrap(),
            parcel["state"].as_str().unwrap(),
        );
        let event = last_parcel_event.get(id);
        let event = event.unwrap_or_else(|| panic!("{context}: {parcel} was never published"));
        let published = event["data"]["state"].as_str().unwrap();
        assert!(
            published_as(published, state),
            "{context}: {parcel}\nlast event {event}"
        );
    }
    let (status, list) = api.get("/api/v1/compartments", operator).await;
    assert_eq!(status, 200, "{list}");
    for c in list["compartments"].as_array().unwrap() {
        let mark = last_service_event.get(c["id"].as_str().unwrap());
        let (disabled, faulted) = (c["state"] == "disabled", c["state"] == "fault");
        let want = (mark == Some(&"disabled"), mark == Some(&"fault"));
        assert_eq!(
            (disabled, faulted),
            want,
            "{context}: {c}, last event {mark:?}"
        );
    }
}

/// What a power cut right now would leave, in a state directory of its own: the last committed
/// transaction of the live database (`synchronous = FULL` makes every commit durable, and
/// `VACUUM INTO` copies one consistent read of them), with the install key.
fn power_cut_copy(h: &Harness) -> tempfile::TempDir {
    use std::os::unix::fs::DirBuilderExt;
    let copy = tempfile::tempdir().expect("tempdir");
    let (live, state) = (h.dir.path().join("state"), copy.path().join("state"));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&state)
        .unwrap();
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let db = rusqlite::Connection::open_with_flags(live.join("lockerd.db"), flags).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    let to = state.join("lockerd.db");
    db.execute("VACUUM INTO ?1", [to.to_str().unwrap()])
        .unwrap();
    std::fs::copy(live.join("install.key"), state.join("install.key")).unwrap();
    copy
}

/// Starts a second daemon on a power cut's leftovers and checks what it shows.
async fn check_after_power_cut(h: &Harness, context: &str) {
    let copy = power_cut_copy(h);
    let config = common::config_text(&copy.path().join("state"), "");
    let running = common::launch(&config, copy.path(), &h.clock).await;
    let api = Api::new(running.addr);
    assert_feed_agrees_with_state(&api, &h.operator, &h.sync, context).await;
    running.stop().await.expect("clean stop");
}

/// The tokens a courier's errands need, shared by the tasks.
struct Desk {
    operator: String,
    kiosk: String,
    sync: String,
}

/// How far the couriers of a cycle got: steps made, and couriers with nothing left to do.
#[derive(Clone, Copy, Default)]
struct Progress {
    steps: usize,
    idle: usize,
}

/// A courier who takes parcels through their life one request at a time: deposit, close the
/// door, confirm, pick up with the published code, close the door. It carries on from whatever
/// state a crash left its parcels in, and leaves alone what only the next start settles.
struct Courier {
    name: String,
    session: String,
    /// Its parcels that have not left the locker.
    parcels: Vec<String>,
    deposits: usize,
    /// The latest pickup code the feed published for each parcel, read up to `read_to`, and
    /// codes that failed (held by a pickup a crash interrupted) and are not to be tried again.
    codes: HashMap<String, String>,
    read_to: i64,
    spent: HashSet<String>,
}

impl Courier {
    async fn new(h: &Harness, name: &str) -> Courier {
        Courier {
            name: name.to_owned(),
            session: h.courier_session(name).await,
            parcels: vec![],
            deposits: 0,
            codes: HashMap::new(),
            read_to: 0,
            spent: HashSet::new(),
        }
    }

    /// Makes steps until nothing can move or the daemon goes away.
    async fn run(
        mut self,
        api: Api,
        desk: Arc<Desk>,
        progress: Arc<watch::Sender<Progress>>,
    ) -> Self {
        while let Some(true) = self.step(&api, &desk).await {
            progress.send_modify(|p| p.steps += 1);
        }
        progress.send_modify(|p| p.idle += 1);
        self
    }

    /// Moves one parcel on, or deposits a new one: whether anything moved, `None` if the
    /// daemon went away.
    async fn step(&mut self, api: &Api, desk: &Desk) -> Option<bool> {
        let mut moved = false;
        for id in self.parcels.clone() {
            let path = format!("/api/v1/parcels/{id}");
            let (status, parcel) = call(api, "GET", &path, &desk.operator, None).await?;
            assert_eq!(status, 200, "{parcel}");
            if matches!(
                parcel["state"].as_str(),
                Some("collected" | "cancelled" | "returned")
            ) {
                self.parcels.retain(|p| *p != id);
            } else if !moved {
                moved = self.move_on(api, desk, &parcel).await?;
            }
        }
        if moved || self.parcels.len() >= 2 {
            return Some(moved);
        }
        self.deposits += 1;
        let tracking_id = format!("{}-{}", self.name, self.deposits);
        let size = ["S", "M"][self.deposits % 2];
        let body = json!({"tracking_id": tracking_id, "size": size});
        let (status, deposit) =
            call(api, "POST", "/api/v1/deposits", &self.session, Some(body)).await?;
        if status == 201 {
            self.parcels
                .push(deposit["parcel_id"].as_str().unwrap().to_owned());
        }
        Some(status == 201)
    }

    async fn move_on(&mut self, api: &Api, desk: &Desk, parcel: &Value) -> Option<bool> {
        let id = parcel["id"].as_str().unwrap();
        let compartment = parcel["compartment"].as_str().unwrap_or_default();
        match parcel["state"].as_str().unwrap() {
            "open" => close_door(api, desk, compartment, id, "open")
                .await
                .map(|()| true),
            "closed" => {
                let path = format!("/api/v1/deposits/{id}/confirm");
                let (status, _) = call(api, "POST", &path, &self.session, Some(json!({}))).await?;
                Some(status == 200)
            }
            "stored" => {
                let Some(code) = self.code(api, desk, id).await? else {
                    return Some(false);
                };
                let body = json!({"code": code});
                let (status, _) =
                    call(api, "POST", "/api/v1/pickup", &desk.kiosk, Some(body)).await?;
                if status != 200 {
                    self.spent.insert(code);
                    return Some(false);
                }
                close_door(api, desk, compartment, id, "stored")
                    .await
                    .map(|()| true)
            }
            // An opening in flight, or one a crash left for the next start to settle.
            _ => Some(false),
        }
    }

    /// The parcel's latest published code, unless it failed already.
    async fn code(&mut self, api: &Api, desk: &Desk, parcel: &str) -> Option<Option<String>> {
        loop {
            let path = format!("/api/v1/sync/events?after={}&limit=1000", self.read_to);
            let (status, page) = call(api, "GET", &path, &desk.sync, None).await?;
            assert_eq!(status, 200, "{page}");
            let events = page["events"].as_array().unwrap();
            if events.is_empty() {
                break;
            }
            for event in events {
                if let Some(code) = event["data"]["pickup_code"].as_str() {
                    let id = event["data"]["parcel_id"].as_str().unwrap();
                    self.codes.insert(id.to_owned(), code.to_owned());
                }
                self.read_to = event["seq"].as_i64().unwrap();
            }
        }
        let code = self.codes.get(parcel).filter(|c| !self.spent.contains(*c));
        Some(code.cloned())
    }
}

/// Closes a door by hand and waits until the parcel has left `from` (`None`: daemon gone).
async fn close_door(api: &Api, desk: &Desk, compartment: &str, id: &str, from: &str) -> Option<()> {
    let path = format!("/api/v1/sim/doors/{compartment}");
    let (status, body) = call(
        api,
        "POST",
        &path,
        &desk.operator,
        Some(json!({"open": false})),
    )
    .await?;
    assert_eq!(status, 204, "{body}");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let path = format!("/api/v1/parcels/{id}");
        let (_, parcel) = call(api, "GET", &path, &desk.operator, None).await?;
        if parcel["state"] != from {
            return Some(());
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{parcel} stays {from}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// An operator taking the XL compartments out of service and back, until the daemon goes away.
async fn operator_errands(api: Api, operator: String, cycle: usize) {
    for n in 0.. {
        let c = ["D1", "D2"][n % 2];
        let action = ["disable", "enable"][n / 2 % 2];
        let path = format!("/api/v1/compartments/{c}/{action}");
        let body = json!({"reason": format!("cycle {cycle} #{n}")});
        let Some((status, body)) = call(&api, "POST", &path, &operator, Some(body)).await else {
            return;
        };
        // 409 while a deposit that found nothing smaller has reserved it.
        assert!(matches!(status, 200 | 409), "{path}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_is_visible_exactly_when_its_state_change_committed() {
    let mut h = Harness::start().await;
    let desk = Arc::new(Desk {
        operator: h.operator.clone(),
        kiosk: h.kiosk.clone(),
        sync: h.sync.clone(),
    });
    let mut couriers = vec![];
    for name in ["ann", "ben", "cat", "dov"] {
        couriers.push(Courier::new(&h, name).await);
    }
    for cycle in 0..5 {
        let progress = Arc::new(watch::channel(Progress::default()).0);
        let running: Vec<_> = couriers
            .drain(..)
            .map(|c| tokio::spawn(c.run(h.api.clone(), desk.clone(), progress.clone())))
            .collect();
        let operator = tokio::spawn(operator_errands(h.api.clone(), h.operator.clone(), cycle));
        let mut seen = progress.subscribe();
        let reached = |steps: usize| move |p: &Progress| p.steps >= steps || p.idle == 4;
        // A power cut may land between any two commits: look at a few, under load.
        for cut in 1..=3 {
            seen.wait_for(reached(5 * cut + cycle)).await.unwrap();
            check_after_power_cut(&h, &format!("power cut {cycle}.{cut}")).await;
        }
        seen.wait_for(reached(20 + 3 * cycle)).await.unwrap();
        h.crash_and_restart().await;
        for courier in running {
            couriers.push(courier.await.expect("courier"));
        }
        operator.await.expect("operator");
        assert_feed_agrees_with_state(&h, &h.operator, &h.sync, &format!("crash {cycle}")).await;
        // Someone looks into what lockerd took out of service, and ends a keypad lockout.
        for c in COMPARTMENTS {
            if h.compartment(c).await["state"] == "disabled" {
                let path = format!("/api/v1/compartments/{c}/enable");
                let (status, body) = h.post(&path, &h.operator, json!({})).await;
                assert!(matches!(status, 200 | 409), "{body}");
            }
        }
        let (status, _) = h
            .post("/api/v1/keypad/unlock", &h.operator, json!({}))
            .await;
        assert_eq!(status, 204);
    }
    h.restart().await;
    assert_feed_agrees_with_state(&h, &h.operator, &h.sync, "graceful restart").await;
    let collected = all_parcels(&h, &h.operator).await;
    let collected = collected
        .iter()
        .filter(|p| p["state"] == "collected")
        .count();
    assert!(collected >= 10, "only {collected} parcels went all the way");
    h.stop().await;
}
