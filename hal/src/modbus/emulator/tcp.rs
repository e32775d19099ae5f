//! The board behind tokio-modbus's TCP server, with its connections counted (so a test can tell
//! a reconnect from a reused connection, and wait for a stopped server's connections to close)
//! and its answers corrupted on the wire when a [`Fault::Garbage`](super::Fault::Garbage) hits.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_modbus::server::Service;
use tokio_modbus::{ExceptionCode, Response, SlaveRequest};

use super::{Board, Reply};

/// Serves `board` as Modbus TCP on `listener` until the returned task is aborted, which also
/// closes every connection it accepted (see [`Board::wait_disconnected`]).
pub fn serve_tcp(board: Board, listener: TcpListener) -> JoinHandle<()> {
    tokio::spawn(async move {
        let server = tokio_modbus::server::tcp::Server::new(listener);
        let on_connected = |stream: TcpStream, _peer| {
            // Answers are small frames someone is waiting for: never hold them back.
            let _ = stream.set_nodelay(true);
            let garble = Arc::new(AtomicBool::new(false));
            let session = Session {
                board: board.clone(),
                garble: garble.clone(),
            };
            let connection = Connection::new(stream, board.clone(), garble);
            std::future::ready(Ok(Some((session, connection))))
        };
        // `serve` ends only if accepting fails; the connections it spawned end with it.
        let _ = server.serve(&on_connected, |_: io::Error| {}).await;
    })
}

/// A board served on a loopback port, which a test can stop (the server "goes away") and start
/// again on the same port.
#[derive(Debug)]
pub struct TcpServer {
    addr: SocketAddr,
    board: Board,
    task: JoinHandle<()>,
    /// `board.accepted()` when this server started.
    accepted_before: usize,
}

impl TcpServer {
    /// Serves `board` on a free loopback port.
    pub async fn start(board: Board) -> io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), board).await
    }

    /// Serves `board` on `addr` (to bring a stopped server back on its port).
    pub async fn start_on(addr: SocketAddr, board: Board) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let accepted_before = board.accepted();
        let task = serve_tcp(board.clone(), listener);
        Ok(Self {
            addr,
            board,
            task,
            accepted_before,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connections this server has accepted (assuming no other server of its board
    /// runs at the same time).
    pub fn accepted(&self) -> usize {
        self.board.accepted() - self.accepted_before
    }

    /// Stops listening and closes every connection; returns once all are closed, so the port
    /// refuses connections from then on.
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
        self.board.wait_disconnected().await;
    }
}

impl Drop for TcpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The board as one connection's service: a garbage fault corrupts this connection's next
/// answer on the wire.
struct Session {
    board: Board,
    garble: Arc<AtomicBool>,
}

impl Service for Session {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = Reply;

    fn call(&self, request: Self::Request) -> Self::Future {
        self.board.respond(request, Some(self.garble.clone()))
    }
}

/// A server-side connection that counts itself in and out of its board and corrupts the next
/// frame it writes when asked to.
struct Connection {
    stream: TcpStream,
    board: Board,
    garble: Arc<AtomicBool>,
}

impl Connection {
    fn new(stream: TcpStream, board: Board, garble: Arc<AtomicBool>) -> Self {
        board.connected();
        Self {
            stream,
            board,
            garble,
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.board.disconnected();
    }
}

/// `frame` with its MBAP protocol id (bytes 2 and 3, always 0 in Modbus TCP) set to `0x1234`:
/// a client's frame decoder refuses it.
fn garbage(frame: &[u8]) -> Vec<u8> {
    let mut bytes = frame.to_vec();
    for (byte, bad) in bytes.iter_mut().skip(2).zip([0x12, 0x34]) {
        *byte = bad;
    }
    bytes
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if !self.garble.load(Ordering::SeqCst) {
            return Pin::new(&mut self.stream).poll_write(cx, buf);
        }
        let bad = garbage(buf);
        let written = Pin::new(&mut self.stream).poll_write(cx, &bad);
        if matches!(written, Poll::Ready(Ok(_))) {
            self.garble.store(false, Ordering::SeqCst);
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
