//! One harness run: a daemon over one state directory, the load, the crash cycles, and the
//! checks after each restart and at the end.

use super::api::{Api, totp_now};
use super::check::{Invariant, Violation, check, check_answers, settled};
use super::daemon::Daemon;
use super::ledger::Ledger;
use super::load::{Shared, Tokens, Worker};
use super::snapshot::Snapshot;
use rand::Rng;
use rand::rngs::StdRng;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

/// The longest the load runs before a kill; kills land anywhere from 20 ms in.
const MAX_UPTIME_MS: u64 = 1000;
/// One start in this many is itself killed within 60 ms, mid-recovery or before it.
const STARTUP_KILL_ONE_IN: u32 = 8;
/// How long the load may take to settle once told to stop.
const DRAIN_DEADLINE: Duration = Duration::from_secs(120);

pub struct Run {
    pub dir: tempfile::TempDir,
    pub daemon: Daemon,
    pub api: Api,
    pub shared: Arc<Shared>,
    /// One courier session per worker.
    pub sessions: Vec<String>,
    pub startup_kills: u32,
    epoch: u64,
    publish: watch::Sender<Option<(u64, Api)>>,
    workers: Vec<JoinHandle<()>>,
}

impl Run {
    /// A fresh state directory with an operator token from `lockerd token create`, a running
    /// daemon, kiosk and sync tokens, and `couriers` couriers logged in.
    pub async fn setup(couriers: usize) -> Run {
        Self::setup_with(couriers, "").await
    }

    /// Like `setup`, with `extra` (tables such as `[mqtt]`) added to the config.
    pub async fn setup_with(couriers: usize, extra: &str) -> Run {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut daemon = Daemon::new(dir.path());
        daemon.append_config(extra);
        let out = daemon
            .cli(&["token", "create", "--role", "operator", "--name", "ops"])
            .await;
        assert!(out.status.success(), "token create: {out:?}");
        let operator = String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_owned();
        daemon.spawn();
        let api = daemon.ready().await;
        let token = async |role: &str| {
            let body = json!({"role": role, "name": role});
            let created = api.post_ok("/api/v1/tokens", &operator, body, 201).await;
            created["token"].as_str().expect("token").to_owned()
        };
        let tokens = Tokens {
            kiosk: token("kiosk").await,
            sync: token("sync").await,
            operator: operator.clone(),
        };
        let mut sessions = vec![];
        for n in 0..couriers {
            let name = format!("courier-{n}");
            let body = json!({"name": name});
            let courier = api.post_ok("/api/v1/couriers", &operator, body, 201).await;
            let code = totp_now(courier["totp_secret"].as_str().expect("secret"));
            let body = json!({"courier": name, "code": code});
            let session = api
                .post_ok("/api/v1/courier/login", &tokens.kiosk, body, 200)
                .await;
            sessions.push(session["token"].as_str().expect("session").to_owned());
        }
        let (publish, daemon_rx) = watch::channel(None);
        let shared = Arc::new(Shared {
            tokens,
            ledger: Mutex::new(Ledger::default()),
            daemon: daemon_rx,
            draining: false.into(),
        });
        Run {
            dir,
            daemon,
            api,
            shared,
            sessions,
            startup_kills: 0,
            epoch: 0,
            publish,
            workers: vec![],
        }
    }

    /// Starts one worker per courier session.
    pub fn start_load(&mut self, seed: u64) {
        for (id, session) in self.sessions.iter().enumerate() {
            let worker = Worker::new(id, session.clone(), seed);
            self.workers
                .push(tokio::spawn(worker.run(self.shared.clone())));
        }
        self.go();
    }

    /// Lets the workers at the daemon of the moment.
    fn go(&mut self) {
        self.epoch += 1;
        self.publish
            .send_replace(Some((self.epoch, self.api.clone())));
    }

    /// The load runs for a random while; SIGKILL; sometimes a start killed too; a restart
    /// over the same state, checked before the load resumes.
    pub async fn crash_cycle(&mut self, cycle: usize, rng: &mut StdRng) {
        self.go();
        tokio::time::sleep(Duration::from_millis(rng.random_range(20..=MAX_UPTIME_MS))).await;
        self.publish.send_replace(None);
        self.daemon.kill().await;
        if rng.random_ratio(1, STARTUP_KILL_ONE_IN) {
            self.daemon.spawn();
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..=60))).await;
            self.daemon.kill().await;
            self.startup_kills += 1;
        }
        self.daemon.spawn();
        self.api = self.daemon.ready().await;
        self.assert_sound(&format!("after cycle {cycle}"), false)
            .await;
        self.enable_compartments().await;
    }

    /// SIGKILL now and a restart over the same state, the load paused meanwhile; no checks (a
    /// consumer that acknowledges, as the MQTT fleet bench's does, scrubs the codes the checks
    /// look for).
    #[allow(dead_code)]
    pub async fn kill_and_restart(&mut self) {
        self.publish.send_replace(None);
        self.daemon.kill().await;
        self.daemon.spawn();
        self.api = self.daemon.ready().await;
        self.enable_compartments().await;
        self.go();
    }

    /// An operator who has looked inside puts compartments a restart took out of service (a
    /// deposit never seen open) or a latch fault back into service.
    async fn enable_compartments(&self) {
        let op = &self.shared.tokens.operator;
        let list = self.api.get_ok("/api/v1/compartments", op).await;
        for c in list["compartments"].as_array().expect("compartments") {
            if matches!(c["state"].as_str(), Some("disabled" | "fault")) {
                let path = format!("/api/v1/compartments/{}/enable", c["id"].as_str().unwrap());
                self.api.post_ok(&path, op, json!({}), 200).await;
                self.shared.ledger.lock().await.stats.enabled += 1;
            }
        }
    }

    /// Tells the workers to finish what is underway, on the daemon of the moment, and waits.
    pub async fn drain(&mut self) {
        self.shared.draining.store(true, Ordering::SeqCst);
        self.go();
        for worker in self.workers.drain(..) {
            match tokio::time::timeout(DRAIN_DEADLINE, worker).await {
                Ok(joined) => joined.expect("a worker panicked"),
                Err(_) => panic!("the load did not settle in {DRAIN_DEADLINE:?}"),
            }
        }
    }

    /// Every invariant, through the API and the database file, and `lockerd audit verify`;
    /// with `at_rest`, also that nothing is left half-done.
    pub async fn violations(&self, at_rest: bool) -> Vec<Violation> {
        let ledger = self.shared.ledger.lock().await;
        let (op, sync) = (&self.shared.tokens.operator, &self.shared.tokens.sync);
        let api = Snapshot::from_api(&self.api, op, sync).await;
        let mut found = file_violations(&self.daemon, &ledger, at_rest).await;
        found.extend(check(&api, &ledger));
        if at_rest {
            found.extend(settled(&api));
        }
        found
    }

    /// Panics with every violation, the daemon's log, and where the state directory is kept.
    pub async fn assert_sound(&mut self, when: &str, at_rest: bool) {
        let found = self.violations(at_rest).await;
        if !found.is_empty() {
            self.dir.disable_cleanup(true);
            let kept = self.dir.path().to_owned();
            let list: Vec<String> = found
                .iter()
                .map(|v| format!("{:?}: {}", v.invariant, v.detail))
                .collect();
            panic!(
                "{when}: {} violation(s):\n{}\n{}\nstate kept in {}",
                found.len(),
                list.join("\n"),
                self.daemon.log_tail(),
                kept.display()
            );
        }
    }
}

/// The invariants judged on the database file (read-only), by `lockerd audit verify`, and on
/// the clients' answers.
pub async fn file_violations(daemon: &Daemon, ledger: &Ledger, at_rest: bool) -> Vec<Violation> {
    let mut found = check_answers(ledger);
    found.extend(match Snapshot::from_db(&daemon.db_path()) {
        Ok(db) => {
            let mut found = check(&db, ledger);
            if at_rest {
                found.extend(settled(&db));
            }
            found
        }
        Err(e) => vec![Violation {
            invariant: Invariant::Integrity,
            detail: format!("[db] unreadable: {e}"),
        }],
    });
    let out = daemon.cli(&["audit", "verify"]).await;
    if !out.status.success() {
        found.push(Violation {
            invariant: Invariant::AuditChain,
            detail: format!(
                "lockerd audit verify: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    found
}
