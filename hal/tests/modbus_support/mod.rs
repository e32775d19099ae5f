//! Support for the Modbus driver tests: short ways to build a driver and read what it returns.
//! The emulated boards they run against are `lockerd_hal::modbus::emulator`.

#![allow(dead_code)] // Each test binary uses its own part of this module.

use std::net::SocketAddr;
use std::time::Duration;

use lockerd_hal::modbus::{
    CoilAddr, InputAddr, ModbusBoard, ModbusConfig, ModbusError, Profile, Transport,
};
use lockerd_hal::{DoorSensor, DoorState, Error, ErrorKind};
use tokio::net::TcpListener;
use tokio_modbus::Request;

/// A driver for a Modbus TCP bus at `addr`, latch channel `i` on `latches[i]` as
/// `(unit, coil)`.
pub fn tcp_board(
    addr: SocketAddr,
    timeout: Duration,
    profile: Profile,
    latches: &[(u8, u16)],
    doors: &[InputAddr],
) -> ModbusBoard {
    let config = ModbusConfig {
        transport: Transport::Tcp {
            address: addr.to_string(),
        },
        timeout,
        profile,
    };
    let latches = latches
        .iter()
        .map(|&(unit, coil)| CoilAddr { unit, coil })
        .collect();
    ModbusBoard::new(config, latches, doors.to_vec())
}

pub fn door(unit: u8, input: u16, open_when: bool) -> InputAddr {
    InputAddr {
        unit,
        input,
        open_when,
    }
}

/// An FC05 write as the emulator logs it.
pub fn coil(unit: u8, coil: u16, on: bool) -> (u8, Request<'static>) {
    (unit, Request::WriteSingleCoil(coil, on))
}

pub fn kind<T: std::fmt::Debug>(result: Result<T, ModbusError>) -> ErrorKind {
    result.expect_err("operation should fail").kind()
}

pub async fn read(board: &mut ModbusBoard) -> Result<Vec<DoorState>, ModbusError> {
    let mut states = vec![DoorState::Open; board.door_count()];
    board.read_doors(&mut states).await.map(|()| states)
}

/// A loopback address nothing listens on.
pub async fn refused_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}
