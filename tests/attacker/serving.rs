//! The HTTP serving layer under attack from the LAN (issue 14, items 3, 4 and 8): made-up
//! methods that used to become metric labels, half-sent requests that used to stay open
//! forever, more connections than the daemon serves, a process out of file descriptors, and
//! (in `tls`) the API in clear.

#[path = "serving/process.rs"]
mod process;
#[path = "serving/tls.rs"]
mod tls;

use crate::common::{self, Harness};
use lockerd::config::Config;
use lockerd::daemon::{self, Options};
use lockerd::http::Limits;
use lockerd::locker::ManualClock;
use process::{Daemon, backlog, cpu_time, raise_fd_limit, rss_kib};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// The methods `lockerd_http_requests_total` names; any other is `other`.
const METHODS: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE", "other",
];

/// A request head cut off before its blank line: the daemon waits for the rest.
const HALF_SENT: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_methods_leave_metrics_and_memory_small() {
    // The binary, so that its memory is its own and not that of the tests running beside.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lockerd.toml");
    let text = common::config_text(&dir.path().join("state"), "");
    std::fs::write(
        &config,
        text.replace("[api]", "[api]\nmetrics_public = true"),
    )
    .unwrap();
    let mut daemon = Daemon::spawn(&["-c", "exec \"$0\" run --config \"$1\""], &config);
    let addr = daemon.addr;
    // The same requests with a real method and a scrape first, so that what the first
    // requests allocate once (buffers, the series of 405) is not counted.
    for _ in 0..20 {
        send(addr, &head("PATCH")).await;
    }
    scrape(addr).await;
    let before = rss_kib(daemon.pid());

    for n in 0..150 {
        let answer = send(addr, &head(&made_up_method(n))).await;
        assert!(answer.starts_with("HTTP/1.1 405"), "{}", &answer[..40]);
    }
    // A head longer than 64 KiB is not read at all.
    let answer = send(addr, &head(&"Y".repeat(70 * 1024))).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{}", &answer[..40]);
    let metrics = scrape(addr).await;
    let grown = rss_kib(daemon.pid()).saturating_sub(before);

    let http: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("lockerd_http_requests_total{"))
        .collect();
    let mut others = 0.0;
    for line in &http {
        let method = label(line, "method");
        assert!(
            METHODS.contains(&method),
            "a method label from a request: {line:.80}"
        );
        if method == "other" {
            others += line.rsplit(' ').next().unwrap().parse::<f64>().unwrap();
        }
    }
    assert_eq!(others, 150.0, "every made-up method counted as other");
    let series_bytes: usize = http.iter().map(|l| l.len() + 1).sum();
    assert!(series_bytes < 2048, "{series_bytes} bytes of http series");
    assert!(
        metrics.len() < 16 * 1024,
        "/metrics is {} bytes",
        metrics.len()
    );
    // 150 labels of 60 KB would be 9 MB kept for good, and as much again in each scrape.
    assert!(grown < 4 * 1024, "the daemon grew by {grown} KiB");
    assert_eq!(daemon.stop(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_are_closed_while_health_keeps_answering() {
    raise_fd_limit(2048);
    let h = Harness::start().await;
    let addr = h.running().addr;
    let deadline = Instant::now() + Duration::from_secs(35);
    let mut attack = vec![];
    for _ in 0..400 {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(HALF_SENT).await.expect("half a request");
        attack.push(stream);
    }

    let health = reqwest::get(h.url("/healthz")).await.expect("an answer");
    assert_eq!(health.status(), 200);
    let open = attack.iter().filter(|s| is_open(s)).count();
    assert_eq!(
        open, 400,
        "/healthz answered while all 400 were still held open"
    );

    for (n, stream) in attack.iter_mut().enumerate() {
        let mut buf = [0u8; 512];
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {}
            Ok(Ok(_)) => {} // an answer (408) is fine too, if the connection then closes
            Err(_) => panic!("connection {n} of 400 still open after 35 s"),
        }
    }
    let health = reqwest::get(h.url("/healthz")).await.expect("an answer");
    assert_eq!(health.status(), 200);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kiosk_live_feed_outlives_the_header_timeout() {
    let h = Harness::start().await;
    let mut feed = TcpStream::connect(h.running().addr).await.expect("connect");
    let request = format!(
        "GET /api/v1/kiosk/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
        h.kiosk
    );
    feed.write_all(request.as_bytes()).await.expect("request");
    // The feed's keep-alive comment comes 15 s in, past the 10 s a request head may take: a
    // timeout that cut long answers would have closed the stream before it.
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(40);
    while !seen.contains("\n:") {
        let read = tokio::time::timeout_at(deadline, feed.read(&mut buf)).await;
        let n = read
            .expect("no keep-alive comment within 40 s")
            .expect("read");
        assert!(n > 0, "the feed was closed: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert!(seen.contains("event: state"), "{seen}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_in_the_backlog_and_the_daemon_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let text = common::config_text(&dir.path().join("state"), "");
    let config = Config::parse(&text, &dir.path().join("lockerd.toml")).unwrap();
    let limits = Limits {
        max_connections: 8,
        ..Limits::default()
    };
    let options = Options {
        clock: Arc::new(ManualClock::new()),
        listen: Some("127.0.0.1:0".parse().unwrap()),
        drain: Duration::from_millis(500),
        limits,
        ..Options::default()
    };
    let running = daemon::start(config, options).await.expect("daemon starts");
    let addr = running.addr;

    let mut attack = vec![];
    for _ in 0..30 {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(HALF_SENT).await.expect("half a request");
        attack.push(stream);
    }
    // The kernel holds what the daemon has not accepted: 8 served, 22 waiting, none more.
    let deadline = Instant::now() + Duration::from_secs(10);
    while backlog(addr) != Some(22) {
        assert!(
            Instant::now() < deadline,
            "backlog {:?}, not 22: the cap of 8 connections does not hold",
            backlog(addr)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    drop(attack);
    answers_again(addr).await;
    running.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_file_descriptors_the_daemon_rests_and_recovers() {
    raise_fd_limit(1024);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lockerd.toml");
    std::fs::write(&config, common::config_text(&dir.path().join("state"), "")).unwrap();
    // 64 descriptors: the daemon's own files and a few dozen connections.
    let mut daemon = Daemon::spawn(
        &["-c", "ulimit -n 64 && exec \"$0\" run --config \"$1\""],
        &config,
    );
    let addr = daemon.addr;

    let mut attack = vec![];
    while !daemon.saw("cannot accept API connections", Duration::ZERO) {
        assert!(attack.len() < 300, "accept never ran out of descriptors");
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(HALF_SENT).await.expect("half a request");
        attack.push(stream);
        if attack.len() % 20 == 0 {
            daemon.saw("cannot accept API connections", Duration::from_millis(200));
        }
    }
    // Out of descriptors with connections pending: a loop retrying accept at once would
    // burn a core for as long as this lasts. Watch it for two seconds.
    let cpu_before = cpu_time(daemon.pid());
    let watched = std::time::Instant::now();
    std::thread::sleep(Duration::from_secs(2));
    let busy =
        (cpu_time(daemon.pid()) - cpu_before).as_secs_f64() / watched.elapsed().as_secs_f64();
    assert!(
        busy < 0.2,
        "the daemon used {:.0} % of a core",
        busy * 100.0
    );

    drop(attack);
    answers_again(addr).await;
    assert!(daemon.saw("accepting API connections again", Duration::from_secs(5)));
    assert_eq!(daemon.stop(), Some(0), "a clean stop after the attack");
}

/// Polls `/healthz` on fresh connections until it answers `200`, for up to 35 s.
async fn answers_again(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(35);
    loop {
        let answer = reqwest::get(format!("http://{addr}/healthz")).await;
        if answer.is_ok_and(|a| a.status() == 200) {
            return;
        }
        assert!(Instant::now() < deadline, "/healthz never answered again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A made-up method of 60 KB, different for each `n` (letters only: a valid HTTP token).
fn made_up_method(n: usize) -> String {
    let mut method: String = (0..4)
        .map(|i| (b'A' + (n / 26usize.pow(i) % 26) as u8) as char)
        .collect();
    method.push_str(&"X".repeat(60 * 1024 - 4));
    method
}

fn head(method: &str) -> Vec<u8> {
    format!("{method} /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").into_bytes()
}

/// Sends a whole request on a connection of its own; the answer, up to the daemon's close.
async fn send(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("request sent");
    let mut answer = vec![];
    stream.read_to_end(&mut answer).await.expect("answer");
    String::from_utf8_lossy(&answer).into_owned()
}

/// `GET /metrics` of a daemon with `api.metrics_public`.
async fn scrape(addr: SocketAddr) -> String {
    let answer = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("scrape");
    assert_eq!(answer.status(), 200);
    answer.text().await.expect("metrics")
}

/// The value of `name` in a series line `metric{a="x",name="y"} 1`.
fn label<'l>(line: &'l str, name: &str) -> &'l str {
    let start = line.find(&format!("{name}=\"")).expect("label") + name.len() + 2;
    let end = line[start..].find('"').expect("closing quote");
    &line[start..start + end]
}

/// Whether the daemon has neither closed nor answered `stream`.
fn is_open(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 1];
    matches!(stream.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}
