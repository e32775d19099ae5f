//! Modbus TCP frames as the proxy reads and breaks them: the MBAP header (transaction id,
//! protocol id, length, unit) and the PDU the length covers. Written from the Modbus
//! Messaging on TCP/IP Implementation Guide, not with tokio-modbus's codec, so a mistake in
//! that codec cannot hide here.

use std::io;

use tokio::io::AsyncReadExt as _;
use tokio::net::tcp::OwnedReadHalf;

use super::Sent;

/// Transaction id (2), protocol id (2), length (2), unit (1).
const MBAP_LEN: usize = 7;

/// The length field counts the unit and the PDU; a PDU is at most 253 bytes.
const MAX_LENGTH: usize = 254;

/// How [`Mode::Corrupt`](super::Mode::Corrupt) breaks a reply. Each names what a client must
/// notice on its own; only `FlipBit` yields a frame that is well-formed and plausible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corruption {
    /// Bit `n` of the data is inverted: the data after the function code and, for reads, the
    /// byte count, numbered as Modbus packs coils (bit `n % 8` of data byte `n / 8`,
    /// wrapping round the data). In an FC02 reply that is input `first + n`; in an FC05 echo,
    /// the address or value. Modbus TCP has no checksum of its own (TCP's and the serial
    /// line's CRC are what catch this in the field), so a flipped input bit can only be
    /// caught by reading again.
    FlipBit(u16),
    /// The function code of a sibling function with the same shape (FC01 ↔ FC02, FC03 ↔ FC04,
    /// FC05 ↔ FC06, FC15 ↔ FC16; others become FC01), exception bit kept.
    WrongFunction,
    /// The transaction id plus one.
    WrongTransaction,
    /// The length field one less than the frame: the PDU read lacks its last byte, which is
    /// left over in the stream as the start of a next frame.
    ShortLength,
    /// Only the first half of the frame, then the connection is closed: a gateway that resets
    /// mid-answer.
    Truncated,
}

impl Corruption {
    pub fn name(&self) -> &'static str {
        match self {
            Corruption::FlipBit(_) => "flip_bit",
            Corruption::WrongFunction => "wrong_function",
            Corruption::WrongTransaction => "wrong_transaction",
            Corruption::ShortLength => "short_length",
            Corruption::Truncated => "truncated",
        }
    }

    /// The bytes to send instead of `frame`, and whether to close the connection after them.
    pub(super) fn apply(self, mut frame: Frame) -> (Vec<u8>, bool) {
        match self {
            Corruption::FlipBit(n) => frame.flip_data_bit(n),
            Corruption::WrongFunction => {
                let function = frame.function();
                frame.bytes[MBAP_LEN] = sibling(function & 0x7F) | (function & 0x80);
            }
            Corruption::WrongTransaction => {
                frame.set_transaction(frame.transaction().wrapping_add(1));
            }
            Corruption::ShortLength => {
                let length = frame.length().saturating_sub(1);
                frame.bytes[4..6].copy_from_slice(&length.to_be_bytes());
            }
            Corruption::Truncated => {
                let half = frame.bytes.len() / 2;
                frame.bytes.truncate(half);
                return (frame.bytes, true);
            }
        }
        (frame.bytes, false)
    }
}

/// A function whose reply has the same layout as `function`'s.
fn sibling(function: u8) -> u8 {
    match function {
        0x01 => 0x02,
        0x02 => 0x01,
        0x03 => 0x04,
        0x04 => 0x03,
        0x05 => 0x06,
        0x06 => 0x05,
        0x0F => 0x10,
        0x10 => 0x0F,
        _ => 0x01,
    }
}

/// One whole Modbus TCP frame, header included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Frame {
    bytes: Vec<u8>,
}

impl Frame {
    pub(super) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(super) fn transaction(&self) -> u16 {
        u16::from_be_bytes([self.bytes[0], self.bytes[1]])
    }

    pub(super) fn set_transaction(&mut self, id: u16) {
        self.bytes[0..2].copy_from_slice(&id.to_be_bytes());
    }

    fn length(&self) -> u16 {
        u16::from_be_bytes([self.bytes[4], self.bytes[5]])
    }

    pub(super) fn unit(&self) -> u8 {
        self.bytes[6]
    }

    pub(super) fn set_unit(&mut self, unit: u8) {
        self.bytes[6] = unit;
    }

    fn function(&self) -> u8 {
        self.bytes[MBAP_LEN]
    }

    /// The request this frame is, for matching its reply.
    pub(super) fn as_sent(&self) -> Sent {
        Sent {
            transaction: self.transaction(),
            unit: self.unit(),
            function: self.function(),
            data: self.bytes[MBAP_LEN + 1..].to_vec(),
        }
    }

    fn flip_data_bit(&mut self, n: u16) {
        // Reads carry a byte count before their data; exceptions and writes do not.
        let start = match self.function() {
            0x01..=0x04 => MBAP_LEN + 2,
            _ => MBAP_LEN + 1,
        };
        let start = start.min(self.bytes.len() - 1);
        let data = &mut self.bytes[start..];
        let byte = usize::from(n / 8) % data.len();
        data[byte] ^= 1 << (n % 8);
    }
}

/// Reads one frame; `None` when the stream ends between frames. A header whose length cannot
/// be a Modbus frame is an error: the stream cannot be followed after it.
pub(super) async fn read_frame(stream: &mut OwnedReadHalf) -> io::Result<Option<Frame>> {
    let mut header = [0u8; MBAP_LEN];
    match stream.read_exact(&mut header).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let length = usize::from(u16::from_be_bytes([header[4], header[5]]));
    if !(2..=MAX_LENGTH).contains(&length) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("modbus tcp length {length} is out of range"),
        ));
    }
    let mut bytes = Vec::with_capacity(MBAP_LEN - 1 + length);
    bytes.extend_from_slice(&header);
    bytes.resize(MBAP_LEN - 1 + length, 0);
    stream.read_exact(&mut bytes[MBAP_LEN..]).await?;
    Ok(Some(Frame { bytes }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An FC02 reply, transaction 7, unit 1: one byte of inputs, 0b0000_0101.
    fn inputs() -> Frame {
        Frame {
            bytes: vec![0, 7, 0, 0, 0, 4, 1, 0x02, 0x01, 0b0000_0101],
        }
    }

    /// An FC05 echo, transaction 9, unit 1: coil 3 on.
    fn coil_on() -> Frame {
        Frame {
            bytes: vec![0, 9, 0, 0, 0, 6, 1, 0x05, 0x00, 0x03, 0xFF, 0x00],
        }
    }

    #[test]
    fn flipping_bit_n_of_an_input_read_inverts_input_n() {
        let (bytes, close) = Corruption::FlipBit(1).apply(inputs());
        assert_eq!(bytes[9], 0b0000_0111);
        assert!(!close);
        let (bytes, _) = Corruption::FlipBit(8).apply(inputs());
        assert_eq!(bytes[9], 0b0000_0100, "wraps round the data");
    }

    #[test]
    fn flipping_a_bit_of_a_coil_echo_changes_its_address_or_value() {
        let (bytes, _) = Corruption::FlipBit(24).apply(coil_on());
        assert_eq!(&bytes[8..], [0x00, 0x03, 0xFF, 0x01]);
    }

    #[test]
    fn header_corruptions_touch_only_their_field() {
        let (bytes, _) = Corruption::WrongTransaction.apply(coil_on());
        assert_eq!(&bytes[..2], [0, 10]);
        assert_eq!(&bytes[2..], &coil_on().bytes[2..]);

        let (bytes, _) = Corruption::ShortLength.apply(coil_on());
        assert_eq!(&bytes[4..6], [0, 5]);
        assert_eq!(bytes.len(), coil_on().bytes.len(), "every byte still sent");

        let (bytes, _) = Corruption::WrongFunction.apply(coil_on());
        assert_eq!(bytes[7], 0x06);
        let exception = Frame {
            bytes: vec![0, 1, 0, 0, 0, 3, 1, 0x82, 0x04],
        };
        let (bytes, _) = Corruption::WrongFunction.apply(exception);
        assert_eq!(bytes[7], 0x81, "still an exception");
    }

    #[test]
    fn a_truncated_frame_is_half_a_frame_then_the_end() {
        let (bytes, close) = Corruption::Truncated.apply(coil_on());
        assert_eq!(bytes, coil_on().bytes[..6]);
        assert!(close);
    }

    #[test]
    fn a_request_names_its_coil_write() {
        let sent = coil_on().as_sent();
        assert_eq!((sent.transaction, sent.unit, sent.function), (9, 1, 0x05));
        assert_eq!(sent.coil_write(), Some((3, true)));
        assert_eq!(inputs().as_sent().coil_write(), None);
    }
}
