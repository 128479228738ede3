//! COBS-framed links over any byte stream (serial ports, pseudo-terminals, in-memory pipes).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::link::{Link, LinkError, LinkFault, PacketRx, PacketTx, RxEvent};
use crate::body::MAX_BODY_LEN;
use crate::frame::{frame_body, FrameDecoder, MAX_FRAME_LEN};

/// A byte stream that can be read with a timeout.
pub trait ByteSource: Send {
    /// Reads available bytes, waiting up to `timeout`; `Ok(0)` means nothing arrived.
    /// A closed stream is [`LinkError::Closed`].
    fn read_timeout(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError>;
}

/// A byte stream that can be written.
pub trait ByteSink: Send {
    /// Writes all of `bytes`.
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), LinkError>;
}

/// Sends bodies as COBS frames.
pub struct FramedTx<S> {
    /// The stream.
    sink: S,
    /// Link description, for messages.
    name: String,
    /// Encoding buffer, reused.
    buf: Box<[u8; MAX_FRAME_LEN]>,
}

impl<S: ByteSink> FramedTx<S> {
    /// Frames bodies onto `sink`, described as `name` in errors.
    pub fn new(sink: S, name: impl Into<String>) -> Self {
        Self { sink, name: name.into(), buf: Box::new([0; MAX_FRAME_LEN]) }
    }
}

impl<S: ByteSink> PacketTx for FramedTx<S> {
    fn send_body(&mut self, body: &[u8]) -> Result<(), LinkError> {
        let len = frame_body(body, &mut self.buf[..])
            .map_err(|source| LinkError::Encode { device: self.name.clone(), source })?;
        self.sink.write_all(&self.buf[..len])
    }
}

/// Size of one read from the stream.
const READ_CHUNK: usize = 4096;

/// Receives COBS frames from a stream, in whatever pieces the stream delivers them.
pub struct FramedRx<S> {
    /// The stream.
    source: S,
    /// The streaming decoder.
    decoder: Box<FrameDecoder>,
    /// Events decoded but not yet returned.
    queue: VecDeque<RxEvent>,
    /// Read buffer.
    buf: Box<[u8; READ_CHUNK]>,
}

impl<S: ByteSource> FramedRx<S> {
    /// Decodes frames from `source`.
    pub fn new(source: S) -> Self {
        Self {
            source,
            decoder: Box::new(FrameDecoder::new()),
            queue: VecDeque::new(),
            buf: Box::new([0; READ_CHUNK]),
        }
    }
}

impl<S: ByteSource> PacketRx for FramedRx<S> {
    fn recv(&mut self, timeout: Duration) -> Result<RxEvent, LinkError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Ok(event);
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            let n = self.source.read_timeout(&mut self.buf[..], remaining)?;
            if n == 0 {
                return Ok(RxEvent::Idle);
            }
            for &byte in &self.buf[..n] {
                match self.decoder.push(byte) {
                    Some(Ok(message)) => self.queue.push_back(RxEvent::Message(message.to_vec())),
                    Some(Err(e)) => self.queue.push_back(RxEvent::Corrupt(LinkFault::Frame(e))),
                    None => {}
                }
            }
            if self.queue.is_empty() && Instant::now() >= deadline {
                return Ok(RxEvent::Idle);
            }
        }
    }
}

/// A framed link over separate reading and writing streams.
pub fn framed_link<R, W>(source: R, sink: W, description: impl Into<String>) -> Link
where
    R: ByteSource + 'static,
    W: ByteSink + 'static,
{
    let description = description.into();
    Link {
        tx: Box::new(FramedTx::new(sink, description.clone())),
        rx: Box::new(FramedRx::new(source)),
        description,
    }
}

/// Compile-time check that a body always fits one frame buffer.
const _: () = assert!(cobs::max_encoding_length(MAX_BODY_LEN) + 2 <= MAX_FRAME_LEN);
