//! The API's listener: accepts TCP connections (wrapped in TLS with `api.tls_cert`), serves each
//! with hyper's HTTP/1 in a task of its own, and stops gracefully.
//!
//! What keeps a client, or a few hundred of them, from taking the API away from everyone else
//! (issue 14): a connection must send a complete request head within
//! [`Limits::header_read_timeout`] (its TLS handshake included, and again between the requests
//! of a keep-alive connection, so idle connections are closed too); a request head is at most
//! [`MAX_HEAD`]; at most [`Limits::max_connections`] are served at once, and further ones wait
//! in the kernel's backlog, using no file descriptor here; and when `accept` fails for want of
//! file descriptors, the loop waits briefly instead of retrying at once (the pending
//! connection keeps the socket readable, so an immediate retry would spin). A long answer,
//! such as the kiosk's live feed, is not limited, but a write that makes no progress for
//! [`Limits::write_timeout`] ends the connection: a client that stops reading (or never
//! does, pipelining requests into a small receive buffer) would otherwise hold its slot for
//! ever without sending a byte.

use crate::config::TlsIdentity;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use rustls::sign::SingleCertAndKey;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_io_timeout::TimeoutStream;
use tokio_rustls::TlsAcceptor;

/// The longest request head (request line and headers): far above any real client's, and it
/// bounds what one connection can make the daemon buffer. A longer one gets `431`.
pub const MAX_HEAD: usize = 64 * 1024;

/// How long `accept` rests after failing for want of file descriptors (or memory): long enough
/// not to spin, short enough that a freed descriptor is used at once.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How many connections the API serves, and how long a client has to say what it wants.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A connection that has not sent a complete request head this long after it was accepted
    /// (or after its previous answer) is closed.
    pub header_read_timeout: Duration,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
    /// A connection whose client has not taken any of an answer for this long is closed.
    pub write_timeout: Duration,
}

impl Default for Limits {
    /// 10 s is ages for a kiosk or a script on the LAN, and short enough that stalled
    /// connections do not pile up. 1,024 connections stay well under `LimitNOFILE` in
    /// systemd/lockerd.service, so the database and the buses always find a descriptor.
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
            write_timeout: Duration::from_secs(10),
        }
    }
}

/// The TLS side of `api.tls_cert`: TLS 1.2 and 1.3 on ring, HTTP/1.1 offered by ALPN.
pub fn acceptor(identity: &TlsIdentity) -> Result<TlsAcceptor, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certified = SingleCertAndKey::from(identity.certified.clone());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(certified));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `app` on `listener` until `shutdown` completes, then lets every open connection
/// finish its request in flight (and closes idle ones) before it returns. Dropping the future
/// ends every connection at once.
pub async fn run(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    // Owns every connection's task: when this future is dropped (a drain that took too
    // long), they all end with it.
    let mut tasks = JoinSet::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(MAX_HEAD);
    let mut accepting = Accepting::default();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = next(&listener, &permits, &mut accepting) => accepted,
        };
        while tasks.try_join_next().is_some() {}
        let (stream, permit) = accepted;
        let connection = Connection {
            http: http.clone(),
            service: TowerToHyperService::new(app.clone()),
            watcher: graceful.watcher(),
            handshake_timeout: limits.header_read_timeout,
            write_timeout: limits.write_timeout,
            _permit: permit,
        };
        tasks.spawn(connection.serve(stream, tls.clone()));
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// A free slot, then a connection to fill it.
async fn next(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
    accepting: &mut Accepting,
) -> (TcpStream, OwnedSemaphorePermit) {
    let permit = permits
        .clone()
        .acquire_owned()
        .await
        .expect("the semaphore is never closed");
    (accepting.accept(listener).await, permit)
}

/// Whether `accept` is failing, so that a failure is logged once, not ten times a second.
#[derive(Default)]
struct Accepting {
    failing: bool,
}

impl Accepting {
    async fn accept(&mut self, listener: &TcpListener) -> TcpStream {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    if std::mem::take(&mut self.failing) {
                        tracing::info!("accepting API connections again");
                    }
                    return stream;
                }
                // The client gave up before it was accepted: nothing to wait for.
                Err(e) if is_connection_error(&e) => {}
                Err(e) => {
                    if !self.failing {
                        tracing::warn!(error = %e, "cannot accept API connections; retrying every {ACCEPT_BACKOFF:?}");
                        self.failing = true;
                    }
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// One accepted connection and what serving it needs; the permit is its slot.
struct Connection {
    http: http1::Builder,
    service: TowerToHyperService<Router>,
    watcher: Watcher,
    handshake_timeout: Duration,
    write_timeout: Duration,
    _permit: OwnedSemaphorePermit,
}

impl Connection {
    async fn serve(self, stream: TcpStream, tls: Option<TlsAcceptor>) {
        let mut stream = TimeoutStream::new(stream);
        stream.set_write_timeout(Some(self.write_timeout));
        let stream = Box::pin(stream);
        let Some(tls) = tls else {
            return self.http(stream).await;
        };
        // A handshake is part of saying what one wants: it gets the same time as the head.
        match tokio::time::timeout(self.handshake_timeout, tls.accept(stream)).await {
            Ok(Ok(stream)) => self.http(stream).await,
            // Scanners and clients that do not trust the certificate: not worth a warning.
            Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
            Err(_) => tracing::debug!("TLS handshake timed out"),
        }
    }

    async fn http<I>(self, io: I)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let connection = self.http.serve_connection(TokioIo::new(io), self.service);
        if let Err(e) = self.watcher.watch(connection).await {
            // Timeouts, resets and malformed requests: the client's doing.
            tracing::debug!(error = %e, "API connection ended with an error");
        }
    }
}
