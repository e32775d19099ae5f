//! The board behind tokio-modbus's RTU server on a serial line: a real port, one end of a
//! `socat` pseudo-terminal pair, or one end of [`SerialStream::pair`].

use std::io;
use std::path::Path;

use tokio::task::JoinHandle;
use tokio_serial::SerialStream;

use super::Board;

/// Serves `board` as Modbus RTU on `port` until the returned task is aborted or the line
/// fails.
///
/// With [`SerialStream::pair`], keep the other end open between the client's reopenings: a
/// pseudo-terminal whose last slave closes stops serving its master.
pub fn serve_rtu(board: Board, port: SerialStream) -> JoinHandle<()> {
    let server = tokio_modbus::server::rtu::Server::new(port);
    tokio::spawn(async move {
        let _ = server.serve_forever(board).await;
    })
}

/// Opens the serial port at `path` (8N1 at `baud`) and serves `board` on it, as
/// [`serve_rtu`].
pub fn serve_rtu_path(board: Board, path: &Path, baud: u32) -> io::Result<JoinHandle<()>> {
    let port = SerialStream::open(&tokio_serial::new(path.to_string_lossy(), baud))?;
    Ok(serve_rtu(board, port))
}
