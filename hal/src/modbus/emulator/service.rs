//! What the board does with one request: the fault that hits it, the doors it springs, the
//! answer and when that leaves; and the board as a tokio-modbus [`Service`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::{Instant, sleep};
use tokio_modbus::SlaveRequest;
use tokio_modbus::server::Service;

use super::unit::{Answer, apply, energizes, wrong_function};
use super::{Board, ExceptionCode, Fault, Logged, Request, Response};

impl Board {
    /// Logs one request, picks the fault that hits it and carries it out: `None` when nothing
    /// answers (a silent fault, or a unit not on the bus).
    fn handle(&self, unit: u8, request: Request<'static>) -> (Option<Fault>, Option<Answer>) {
        let mut state = self.state();
        let fault = state
            .faults
            .iter_mut()
            .find(|armed| armed.remaining > 0 && (armed.matches)(unit, &request))
            .map(|armed| {
                armed.remaining = armed.remaining.saturating_sub(1);
                armed.fault
            });
        state.log.push(Logged {
            at: Instant::now(),
            unit,
            request: request.clone(),
            fault,
        });
        self.shared.logged.send_modify(|n| *n += 1);
        let springs = state.springs.clone();
        let answer = match (fault, state.units.get_mut(&unit)) {
            (_, None) | (Some(Fault::Silent), _) => None,
            (Some(Fault::Exception(code)), _) => Some(Err(code)),
            (_, Some(board)) => {
                let springs = springs.iter().filter(|s| s.unit == unit);
                for spring in springs.filter(|s| energizes(&request, s.coil)) {
                    board.inputs[usize::from(spring.input)] = spring.open_when;
                }
                Some(apply(board, &request))
            }
        };
        (fault, answer)
    }

    /// Answers one request the way a server with this board behind it would; `garble` is set
    /// when the answer must leave as garbage bytes (TCP), and absent where the transport
    /// cannot be corrupted (RTU).
    pub(super) fn respond(
        &self,
        request: SlaveRequest<'static>,
        garble: Option<Arc<AtomicBool>>,
    ) -> Reply {
        let (fault, answer) = self.handle(request.slave, request.request.clone());
        let Some(answer) = answer else {
            return Box::pin(std::future::ready(Ok(None)));
        };
        let answer = match (fault, garble) {
            (Some(Fault::Garbage), Some(garble)) => {
                garble.store(true, Ordering::SeqCst);
                answer
            }
            (Some(Fault::Garbage), None) => Ok(wrong_function(&request.request)),
            _ => answer,
        };
        let delay = match fault {
            Some(Fault::Late(delay)) => delay,
            _ => Duration::ZERO,
        };
        Box::pin(async move {
            if !delay.is_zero() {
                sleep(delay).await;
            }
            answer.map(Some)
        })
    }
}

pub(super) type Reply =
    Pin<Box<dyn Future<Output = Result<Option<Response>, ExceptionCode>> + Send>>;

/// The board as a tokio-modbus service, for a server of one's own (garbage faults answer for
/// the wrong function, as over RTU).
impl Service for Board {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = Reply;

    fn call(&self, request: Self::Request) -> Self::Future {
        self.respond(request, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modbus::emulator::POINTS;
    use crate::modbus::emulator::unit::ALL_RELAYS;

    fn call(board: &Board, unit: u8, request: Request<'static>) -> Option<Answer> {
        board.handle(unit, request).1
    }

    #[test]
    fn coil_00ff_switches_every_relay_and_springs_doors() {
        let board = Board::new(&[1]);
        board.spring_door(1, 3, 0, true);
        board.set_coil(1, 7, true);

        let off = call(&board, 1, Request::WriteSingleCoil(ALL_RELAYS, false));
        assert_eq!(off, Some(Ok(Response::WriteSingleCoil(ALL_RELAYS, false))));
        assert!(!board.coil(1, 7));
        assert!(!board.input(1, 0), "switching off releases no latch");

        call(&board, 1, Request::WriteSingleCoil(3, true));
        assert!(board.coil(1, 3) && board.input(1, 0));
    }

    #[test]
    fn an_eletechsup_timed_pulse_springs_the_door_of_its_1_based_channel() {
        let board = Board::new(&[1]);
        board.spring_door(1, 2, 5, false);
        board.set_input(1, 5, true);

        call(&board, 1, Request::WriteSingleRegister(2, 0x0601));
        assert!(board.input(1, 5), "register 2 is channel 2, coil 1");
        call(&board, 1, Request::WriteSingleRegister(3, 0x0601));
        assert!(!board.input(1, 5));
        assert_eq!(board.register(1, 3), 0x0601);
    }

    #[test]
    fn faults_hit_the_matching_requests_as_often_as_armed() {
        let board = Board::new(&[1]);
        let refusal = Fault::Exception(ExceptionCode::ServerDeviceBusy);
        board.inject(refusal, 1, |_, r| matches!(r, Request::WriteSingleCoil(..)));
        board.inject(Fault::Silent, usize::MAX, |unit, _| unit == 1);

        let on = Request::WriteSingleCoil(0, true);
        assert_eq!(
            call(&board, 1, on.clone()),
            Some(Err(ExceptionCode::ServerDeviceBusy))
        );
        assert_eq!(call(&board, 1, on.clone()), None);
        assert!(
            !board.coil(1, 0),
            "neither refused nor unheard requests act"
        );

        board.clear_faults();
        assert!(call(&board, 1, on).is_some());
        let faults: Vec<_> = board.log().iter().map(|l| l.fault).collect();
        assert_eq!(faults, [Some(refusal), Some(Fault::Silent), None]);
    }

    #[test]
    fn a_unit_not_on_the_bus_is_silent_but_logged() {
        let board = Board::new(&[1]);
        assert_eq!(call(&board, 9, Request::ReadCoils(0, 1)), None);
        assert_eq!(board.requests(), [(9, Request::ReadCoils(0, 1))]);
        assert_eq!(board.log()[0].function(), 0x01);
    }

    #[test]
    fn reads_past_the_points_are_illegal_addresses() {
        let board = Board::new(&[1]);
        let read = Request::ReadDiscreteInputs(POINTS as u16 - 1, 2);
        assert_eq!(
            call(&board, 1, read),
            Some(Err(ExceptionCode::IllegalDataAddress))
        );
    }
}
