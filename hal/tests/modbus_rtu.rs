//! The Modbus driver over a real serial line: a pseudo-terminal pair at 9600 baud 8N1, with
//! tokio-modbus's RTU server and the emulated boards on one end and the driver, opening the
//! other end by its path as it would `/dev/ttyUSB0`, on the other.

mod modbus_support;

use std::time::Duration;

use lockerd_hal::modbus::emulator::{Board, Fault, serve_rtu};
use lockerd_hal::modbus::{
    CoilAddr, InputAddr, ModbusBoard, ModbusConfig, Parity, Profile, StopBits, Transport,
};
use lockerd_hal::{DoorSensor, DoorState, Latch};
use tokio_modbus::{ExceptionCode, Request};
use tokio_serial::{SerialPort, SerialStream};

const PULSE: Duration = Duration::from_millis(300);
/// 3.5 characters of 10 bits at 9600 baud.
const SILENT_INTERVAL: Duration = Duration::from_nanos(3_645_833);

/// The emulated bus behind an RTU server on one end of a pty pair; the driver's end of the
/// line. The returned stream keeps the driver's end open between the driver's reopenings (a
/// pty whose last slave closes stops serving its master).
fn serve(emulator: Board) -> (std::path::PathBuf, SerialStream) {
    let (server_end, driver_end) = SerialStream::pair().expect("pseudo-terminal pair");
    let path = driver_end.name().expect("the pty has a path").into();
    serve_rtu(emulator, server_end);
    (path, driver_end)
}

fn board(device: std::path::PathBuf, latches: &[(u8, u16)], doors: &[InputAddr]) -> ModbusBoard {
    let config = ModbusConfig {
        transport: Transport::Rtu {
            device,
            baud: 9_600,
            parity: Parity::None,
            stop_bits: StopBits::One,
        },
        timeout: Duration::from_millis(200),
        profile: Profile::Waveshare,
    };
    let latches = latches
        .iter()
        .map(|&(unit, coil)| CoilAddr { unit, coil })
        .collect();
    ModbusBoard::new(config, latches, doors.to_vec())
}

fn door(unit: u8, input: u16, open_when: bool) -> InputAddr {
    InputAddr {
        unit,
        input,
        open_when,
    }
}

#[tokio::test]
async fn a_pulse_and_a_door_read_on_two_units_of_one_line() {
    let emulator = Board::new(&[1, 2]);
    emulator.set_input(1, 1, true);
    let (device, _line) = serve(emulator.clone());
    let doors = [door(1, 0, true), door(1, 1, true), door(2, 7, false)];
    let mut board = board(device, &[(1, 0), (2, 4)], &doors);

    board.pulse(1, PULSE).await.expect("pulse");

    let on_off = [
        (2, Request::WriteSingleCoil(4, true)),
        (2, Request::WriteSingleCoil(4, false)),
    ];
    assert_eq!(emulator.requests(), on_off);
    let log = emulator.log();
    let energized = log[1].at - log[0].at;
    let slack = Duration::from_millis(100);
    assert!(
        energized + slack >= PULSE && energized <= PULSE + slack,
        "coil on for {energized:?}, asked {PULSE:?}"
    );

    emulator.clear_log();
    let mut states = [DoorState::Open; 3];
    board.read_doors(&mut states).await.expect("read doors");
    use DoorState::{Closed, Open};
    assert_eq!(states, [Closed, Open, Open]);
    let reads = [
        (1, Request::ReadDiscreteInputs(0, 2)),
        (2, Request::ReadDiscreteInputs(7, 1)),
    ];
    assert_eq!(emulator.requests(), reads);
    // The second request waited for the line to stay silent after the first answer, which
    // came after the first request arrived.
    let log = emulator.log();
    assert!(
        log[1].at - log[0].at >= SILENT_INTERVAL,
        "{:?}",
        log[1].at - log[0].at
    );
}

#[tokio::test]
async fn scan_finds_the_units_that_answer_and_the_line_recovers_from_silence() {
    let emulator = Board::new(&[1, 3]);
    let refusal = Fault::Exception(ExceptionCode::IllegalDataAddress);
    emulator.inject(refusal, 1, |unit, _| unit == 3);
    let (device, _line) = serve(emulator.clone());
    let mut board = board(device, &[(1, 0)], &[door(1, 0, true)]);

    let present = board.scan(1..=4).await.expect("scan");

    assert_eq!(
        present,
        [1, 3],
        "unit 3 refused but answered; 2 and 4 are silent"
    );
    let probes: Vec<_> = (1..=4)
        .map(|unit| (unit, Request::ReadCoils(0, 1)))
        .collect();
    assert_eq!(emulator.requests(), probes);

    // The port was reopened after unit 4's silence; the line still works.
    emulator.clear_log();
    board.all_off().await.expect("all off");
    assert_eq!(
        emulator.requests(),
        [(1, Request::WriteSingleCoil(0xFF, false))]
    );
}
