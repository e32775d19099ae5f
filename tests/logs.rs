//! The real binary at debug level never writes a pickup code, a token, a TOTP secret, a one-time
//! link's code or a console session's id to its log, through a whole deposit and pickup and a
//! console and kiosk link spent (and `lockerd token create` prints its token only on stdout).

mod common;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lockerd.toml");
    // Ten-digit codes cannot turn up by chance in a timestamp.
    let text = common::config_text(&dir.path().join("state"), "")
        .replace("code_length = 6", "code_length = 10");
    std::fs::write(&config, text).unwrap();
    let exe = env!("CARGO_BIN_EXE_lockerd");
    let created = Command::new(exe)
        .args([
            "token", "create", "--role", "operator", "--name", "ops", "--config",
        ])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let operator = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    let mut secrets = vec![operator.clone()];
    assert!(!String::from_utf8_lossy(&created.stderr).contains(&operator));

    let mut child = Command::new(exe)
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "debug")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let (ready_tx, ready) = mpsc::channel();
    let reader = {
        let (log, stderr) = (log.clone(), child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("addr=").nth(1) {
                    let _ = ready_tx.send(
                        rest.split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_owned(),
                    );
                }
                log.lock().unwrap().push_str(&(line + "\n"));
            }
        })
    };
    let addr = ready
        .recv_timeout(Duration::from_secs(20))
        .expect("daemon ready");
    let base = format!("http://{addr}/api/v1");
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: String, token: String, body: Value| {
        let req = http
            .request(method, format!("{base}{path}"))
            .bearer_auth(token)
            .json(&body);
        async move {
            req.send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap_or(Value::Null)
        }
    };
    use reqwest::Method;
    let kiosk = call(
        Method::POST,
        "/tokens".into(),
        operator.clone(),
        json!({"role": "kiosk", "name": "k"}),
    )
    .await;
    let kiosk = kiosk["token"].as_str().unwrap().to_owned();
    let courier = call(
        Method::POST,
        "/couriers".into(),
        operator.clone(),
        json!({"name": "alice"}),
    )
    .await;
    let secret = courier["totp_secret"].as_str().unwrap().to_owned();
    let code = common::totp_now(&secret, &lockerd::locker::ManualClock::new());
    let session = call(
        Method::POST,
        "/courier/login".into(),
        kiosk.clone(),
        json!({"courier": "alice", "code": code}),
    )
    .await;
    let session = session["token"].as_str().expect("logged in").to_owned();
    // A courier deposit that ends stored: deposit, close the simulated door, confirm.
    let deposit_stored = async |tracking_id: &str| -> String {
        let deposit = call(
            Method::POST,
            "/deposits".into(),
            session.clone(),
            json!({"tracking_id": tracking_id, "size": "S"}),
        )
        .await;
        let parcel = deposit["parcel_id"].as_str().expect("deposited").to_owned();
        let compartment = deposit["compartment"]["id"].as_str().unwrap().to_owned();
        call(
            Method::POST,
            format!("/sim/doors/{compartment}"),
            operator.clone(),
            json!({"open": false}),
        )
        .await;
        let mut confirmed = Value::Null;
        for _ in 0..200 {
            confirmed = call(
                Method::POST,
                format!("/deposits/{parcel}/confirm"),
                session.clone(),
                json!({}),
            )
            .await;
            if confirmed["state"] == "stored" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(confirmed["state"], "stored", "{confirmed}");
        parcel
    };
    let parcel = deposit_stored("L-1").await;
    let feed = call(
        Method::GET,
        "/sync/events?after=0".into(),
        operator.clone(),
        json!({}),
    )
    .await;
    let stored = feed["events"].as_array().unwrap().iter();
    let mut stored = stored.filter(|e| e["type"] == "parcel.stored");
    let pickup_code = stored.next().expect("parcel.stored")["data"]["pickup_code"]
        .as_str()
        .expect("code published")
        .to_owned();
    assert_eq!(pickup_code.len(), 10);
    let opened = call(
        Method::POST,
        "/pickup".into(),
        kiosk.clone(),
        json!({"code": pickup_code}),
    )
    .await;
    assert_eq!(opened["parcel_id"], parcel);
    // A pre-advised parcel whose code the cloud issued: the code goes in once, hashed.
    let sync = call(
        Method::POST,
        "/tokens".into(),
        operator.clone(),
        json!({"role": "sync", "name": "cloud"}),
    )
    .await;
    let sync = sync["token"].as_str().unwrap().to_owned();
    let cloud_code = "5550123456".to_owned();
    let reserved = http
        .put(format!("{base}/sync/reservations/L-2"))
        .bearer_auth(&sync)
        .json(&json!({"size": "S", "pickup_code": cloud_code}))
        .send()
        .await
        .unwrap();
    assert_eq!(reserved.status(), 201);
    let parcel_2 = deposit_stored("L-2").await;
    let opened = call(
        Method::POST,
        "/pickup".into(),
        kiosk.clone(),
        json!({"code": cloud_code}),
    )
    .await;
    assert_eq!(opened["parcel_id"], parcel_2.as_str(), "{opened}");
    // A wrong code too: failures are logged, never with the digits typed.
    call(
        Method::POST,
        "/pickup".into(),
        kiosk.clone(),
        json!({"code": "9876543210"}),
    )
    .await;
    // Deliveries without an account: a reservation's deposit PIN, the delivery's own session,
    // a delivery PIN and an owner's standing pickup code, and a wrong PIN.
    let deposit_pin = "4440987654".to_owned();
    let reserved = http
        .put(format!("{base}/sync/reservations/L-3"))
        .bearer_auth(&sync)
        .json(&json!({"size": "S", "deposit_pin": deposit_pin}))
        .send()
        .await
        .unwrap();
    assert_eq!(reserved.status(), 201);
    let delivered = call(
        Method::POST,
        "/deliveries".into(),
        kiosk.clone(),
        json!({"tracking_id": "L-3", "pin": deposit_pin}),
    )
    .await;
    let delivery_token = delivered["token"].as_str().expect("delivered").to_owned();
    let access_code = |purpose: &'static str| {
        call(
            Method::POST,
            "/access-codes".into(),
            operator.clone(),
            json!({"name": purpose, "purpose": purpose}),
        )
    };
    let delivery_pin = access_code("delivery").await["code"]
        .as_str()
        .expect("a delivery code")
        .to_owned();
    let standing = access_code("pickup").await["code"]
        .as_str()
        .expect("a pickup code")
        .to_owned();
    let by_pin = call(
        Method::POST,
        "/deliveries".into(),
        kiosk.clone(),
        json!({"tracking_id": "L-4", "pin": delivery_pin}),
    )
    .await;
    assert!(by_pin["token"].is_string(), "{by_pin}");
    call(
        Method::POST,
        "/deliveries".into(),
        kiosk.clone(),
        json!({"tracking_id": "L-5", "pin": "1212121212"}),
    )
    .await;
    call(
        Method::POST,
        "/pickup".into(),
        kiosk.clone(),
        json!({"code": standing}),
    )
    .await;

    // One-time links: a console link spent as the sign-in page spends it, the session it
    // begins, a kiosk's pairing link opened, and a wrong link's code.
    let root = format!("http://{addr}");
    let console_link = call(
        Method::POST,
        "/console/links".into(),
        operator.clone(),
        json!({"name": "desk"}),
    )
    .await;
    let console_url = console_link["url"].as_str().expect("a console link");
    let console_code = console_url.split_once("#link=").unwrap().1.to_owned();
    let sign_in = |link: String| {
        http.post(format!("{root}/console/session"))
            .header("x-lockerd-csrf", "1")
            .json(&json!({ "link": link }))
            .send()
    };
    let signed_in = sign_in(console_code.clone()).await.unwrap();
    assert_eq!(signed_in.status(), 204);
    let set = signed_in.headers()["set-cookie"].to_str().unwrap();
    let console_cookie = set.split(';').next().unwrap().to_owned();
    let console_session = console_cookie.split_once('=').unwrap().1.to_owned();
    let listed = http
        .get(format!("{base}/compartments"))
        .header("cookie", &console_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    let wrong_link = "0123456789abcdef0123456789abcdef".to_owned();
    assert_eq!(sign_in(wrong_link.clone()).await.unwrap().status(), 401);
    let pairing = call(
        Method::POST,
        "/kiosk/pairings".into(),
        operator.clone(),
        json!({"name": "lobby"}),
    )
    .await;
    let pairing_url = pairing["url"].as_str().expect("a pairing link").to_owned();
    let pairing_code = pairing_url.split_once("code=").unwrap().1.to_owned();
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let paired = no_redirect
        .get(format!("{root}{pairing_url}"))
        .send()
        .await
        .unwrap();
    assert_eq!(paired.status(), 303);

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    reader.join().unwrap();
    let log = log.lock().unwrap().clone();
    assert!(log.contains("lockerd ready"), "the log was captured: {log}");
    // Each door movement is one record naming its compartment (the journal's COMPARTMENT).
    assert!(
        log.lines().any(|l| l.contains("door opened")
            && l.contains("compartment=")
            && l.contains("cause=\"pickup\"")),
        "{log}"
    );
    secrets.extend([
        kiosk,
        session,
        secret,
        pickup_code,
        sync,
        cloud_code,
        "9876543210".to_owned(),
        deposit_pin,
        delivery_token,
        by_pin["token"].as_str().unwrap().to_owned(),
        delivery_pin,
        standing,
        "1212121212".to_owned(),
        console_code,
        console_session,
        wrong_link,
        pairing_code,
    ]);
    for s in &secrets {
        assert!(
            !log.contains(s.as_str()),
            "a secret reached the log:\n{log}"
        );
    }
}
