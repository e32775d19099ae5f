#!/usr/bin/env python3
"""A relay board with door inputs, served by pymodbus: the independent peer of the interop test.

It emulates what lockerd drives in the field: one Modbus unit with coils 0..N-1 (the latch
relays) and discrete inputs 0..N-1 (the door reed switches, True = open). Switching coil k on
pops discrete input k to True, as a spring-loaded door does when its latch is pulsed; the door
then stays open until it is closed through the control below.

Transports:
    pymodbus_board.py tcp [--host 127.0.0.1] [--port 0]   (port 0: any free port)
    pymodbus_board.py rtu --device /dev/pts/N [--baud 9600]
    pymodbus_board.py --check                             (exit 0 if pymodbus is usable)

Output, one JSON object per line on stdout (flushed at once):
    {"event": "ready", "transport": "tcp", "port": 40123}
    {"event": "coil", "unit": 1, "fc": 5, "address": 3, "value": true, "t": 12.345}
    {"event": "door", "unit": 1, "input": 3, "open": true, "cause": "coil"}
`t` is time.monotonic() in seconds, for measuring pulse lengths.

Control, one command per line on stdin:
    close K    the door of input K closes (answered by a "door" line with "cause": "command")
    open K     the door of input K opens (by hand, no pulse)
    quit       stop; end of stdin stops the server too, so it never outlives the test

Unit ids other than --unit get no answer, as on a real RS485 bus.

Written against pymodbus 3.16 (its SimDevice datastore with an `action` hook); pymodbus's
server datastore API changed several times within 3.x, so `.ci/run` pins that minor version.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time

NEEDS = "pymodbus 3.16 (pip install 'pymodbus~=3.16.1' pyserial)"

FC_READ_COILS = 1
FC_READ_INPUTS = 2
FC_WRITE_COIL = 5
FC_WRITE_COILS = 15


def emit(**fields) -> None:
    """Writes one JSON line to stdout."""
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def check() -> str | None:
    """Why this script cannot run here, or None if it can."""
    try:
        import pymodbus
        import serial  # noqa: F401  (pyserial, for RTU)
        from pymodbus.server import ModbusSerialServer, ModbusTcpServer  # noqa: F401
        from pymodbus.simulator import DataType, SimData, SimDevice  # noqa: F401
    except ImportError as exc:
        return f"needs {NEEDS}: {exc}"
    if "action" not in getattr(SimDevice, "__dataclass_fields__", {}):
        return f"needs {NEEDS}; found pymodbus {pymodbus.__version__}"
    return None


class Board:
    """Coil and door state of one unit, shared by the Modbus handler and the stdin control."""

    def __init__(self, unit: int, channels: int):
        self.unit = unit
        self.channels = channels
        self.doors = [False] * channels

    def set_door(self, index: int, is_open: bool, cause: str) -> None:
        if not 0 <= index < self.channels:
            emit(event="error", message=f"no input {index}")
            return
        self.doors[index] = is_open
        emit(event="door", unit=self.unit, input=index, open=is_open, cause=cause)

    async def action(
        self, function_code, start_address, address, count, registers, set_values
    ):
        """pymodbus's datastore hook, called for every request before it is served.

        `registers` is the whole block addressed (coils or discrete inputs, 16 bits a register,
        bit 0 first); writes not yet applied are in `set_values`.
        """
        if function_code in (FC_WRITE_COIL, FC_WRITE_COILS) and set_values is not None:
            now = time.monotonic()
            for offset, value in enumerate(set_values):
                coil = address + offset
                emit(
                    event="coil",
                    unit=self.unit,
                    fc=function_code,
                    address=coil,
                    value=bool(value),
                    t=now,
                )
                if value and 0 <= coil < self.channels:
                    self.set_door(coil, True, "coil")
        elif function_code == FC_READ_INPUTS:
            # Serve the doors from our state: rewrite the block's registers before the read.
            for reg in range((self.channels + 15) // 16):
                bits = self.doors[reg * 16 : reg * 16 + 16]
                registers[reg - start_address] = sum(
                    1 << i for i, b in enumerate(bits) if b
                )


def device(board: Board):
    from pymodbus.simulator import DataType, SimData, SimDevice

    def bits():
        return [SimData(0, count=board.channels, values=False, datatype=DataType.BITS)]

    def regs():
        return [SimData(0, count=board.channels, values=0, datatype=DataType.REGISTERS)]

    # Separate blocks: (coils, discrete inputs, holding registers, input registers).
    return SimDevice(
        id=board.unit, simdata=(bits(), bits(), regs(), regs()), action=board.action
    )


def silence_other_units(server, unit: int) -> None:
    """Leaves requests to other unit ids unanswered, as a real bus does.

    pymodbus 3.16's `ignore_missing_devices` does not reach its SimDevice datastore (a missing id
    fails there with a device-failure exception reply), so the datastore is wrapped to raise the
    exception that flag is meant for.
    """
    from pymodbus.exceptions import NoSuchIdException

    store = server.context

    def only_ours(call):
        async def wrapped(device_id, *args, **kwargs):
            if device_id != unit:
                raise NoSuchIdException(f"no unit {device_id}")
            return await call(device_id, *args, **kwargs)

        return wrapped

    store.async_getValues = only_ours(store.async_getValues)
    store.async_setValues = only_ours(store.async_setValues)


def read_control(loop: asyncio.AbstractEventLoop, board: Board, stop: asyncio.Event):
    """Reads control commands from stdin on a thread; end of input stops the server."""
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        if words[0] in ("open", "close") and len(words) == 2 and words[1].isdigit():
            is_open = words[0] == "open"
            loop.call_soon_threadsafe(board.set_door, int(words[1]), is_open, "command")
        else:
            message = f"unknown command: {line.strip()}"
            loop.call_soon_threadsafe(lambda m=message: emit(event="error", message=m))
    loop.call_soon_threadsafe(stop.set)


async def serve(args) -> int:
    from pymodbus.framer import FramerType
    from pymodbus.server import ModbusSerialServer, ModbusTcpServer

    board = Board(args.unit, args.channels)
    if args.transport == "tcp":
        server = ModbusTcpServer(
            device(board),
            framer=FramerType.SOCKET,
            address=(args.host, args.port),
            ignore_missing_devices=True,
        )
    else:
        server = ModbusSerialServer(
            device(board),
            framer=FramerType.RTU,
            port=args.device,
            baudrate=args.baud,
            bytesize=8,
            parity="N",
            stopbits=1,
            ignore_missing_devices=True,
        )
    silence_other_units(server, board.unit)
    await server.serve_forever(background=True)
    if args.transport == "tcp":
        port = server.transport.sockets[0].getsockname()[1]
        emit(event="ready", transport="tcp", host=args.host, port=port)
    else:
        emit(event="ready", transport="rtu", device=args.device, baud=args.baud)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    threading.Thread(target=read_control, args=(loop, board, stop), daemon=True).start()
    await stop.wait()
    await server.shutdown()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 0 if pymodbus is usable"
    )
    sub = parser.add_subparsers(dest="transport")
    tcp = sub.add_parser("tcp")
    tcp.add_argument("--host", default="127.0.0.1")
    tcp.add_argument("--port", type=int, default=0)
    rtu = sub.add_parser("rtu")
    rtu.add_argument("--device", required=True)
    rtu.add_argument("--baud", type=int, default=9600)
    for p in (tcp, rtu):
        p.add_argument("--unit", type=int, default=1)
        p.add_argument("--channels", type=int, default=16)
    args = parser.parse_args()

    problem = check()
    if args.check:
        if problem:
            print(problem, file=sys.stderr)
            return 1
        return 0
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if args.transport is None:
        parser.error("choose a transport: tcp or rtu")
    # pymodbus warns about its deprecated datastore on stderr; keep stdout for our JSON lines.
    return asyncio.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())
