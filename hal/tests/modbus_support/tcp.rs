//! The emulator behind tokio-modbus's TCP server, on a loopback port, with its connections
//! counted so tests can tell a reconnect from a reused connection and wait for a stopped
//! server's connections to close.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::emulator::Emulator;

/// The emulator behind a Modbus TCP server on a loopback port.
pub struct TcpServer {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
    /// Connections open now, and accepted in all.
    connections: watch::Receiver<(usize, usize)>,
}

impl TcpServer {
    /// Serve `emulator` on a free loopback port.
    pub async fn start(emulator: Emulator) -> Self {
        Self::start_on("127.0.0.1:0".parse().unwrap(), emulator).await
    }

    /// Serve `emulator` on `addr` (to bring a stopped server back on its port).
    pub async fn start_on(addr: SocketAddr, emulator: Emulator) -> Self {
        let listener = TcpListener::bind(addr).await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let (count, connections) = watch::channel((0, 0));
        let server = tokio_modbus::server::tcp::Server::new(listener);
        let task = tokio::spawn(async move {
            let on_connected = |stream: TcpStream, _| {
                count.send_modify(|(open, total)| (*open, *total) = (*open + 1, *total + 1));
                let stream = Tracked {
                    stream,
                    count: count.clone(),
                };
                std::future::ready(Ok(Some((emulator.clone(), stream))))
            };
            let _ = server.serve(&on_connected, |_: io::Error| {}).await;
        });
        Self {
            addr,
            task,
            connections,
        }
    }

    /// How many connections the server has accepted.
    pub fn accepted(&self) -> usize {
        self.connections.borrow().1
    }

    /// Stop listening and close every connection; returns once all are closed.
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
        let _ = self.connections.wait_for(|(open, _)| *open == 0).await;
    }
}

/// A server-side connection that counts itself out when tokio-modbus drops it.
struct Tracked {
    stream: TcpStream,
    count: watch::Sender<(usize, usize)>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.count.send_modify(|(open, _)| *open -= 1);
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
