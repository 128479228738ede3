//! In-memory links: a pair of byte pipes inside one process, optionally noisy.
//!
//! The pipes carry COBS frames exactly as a serial line would, so the framing, decoder and
//! resynchronisation are exercised; noise (random bit flips at a given rate) tests recovery.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::link::{Link, LinkError};
use super::stream::{framed_link, ByteSink, ByteSource};

/// Shared state of one direction.
#[derive(Debug, Default)]
struct PipeState {
    /// Bytes written, not yet read.
    bytes: VecDeque<u8>,
    /// The writer was dropped.
    closed: bool,
}

/// One direction of a pipe.
#[derive(Debug, Default)]
struct Pipe {
    /// The bytes and the closed flag.
    state: Mutex<PipeState>,
    /// Signalled on writes and on close.
    ready: Condvar,
}

impl Pipe {
    /// Locks the state; a poisoned lock still holds consistent bytes, so it is used as is.
    fn lock(&self) -> MutexGuard<'_, PipeState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Reading end of a pipe.
#[derive(Debug)]
pub struct PipeReader {
    /// The pipe.
    pipe: Arc<Pipe>,
    /// Name for messages.
    name: String,
}

/// Writing end of a pipe, with optional bit-flip noise.
#[derive(Debug)]
pub struct PipeWriter {
    /// The pipe.
    pipe: Arc<Pipe>,
    /// Noise generator, if any.
    noise: Option<Noise>,
}

/// Random bit flips: each byte is hit with probability `rate`.
#[derive(Debug, Clone)]
struct Noise {
    /// Probability per byte.
    rate: f64,
    /// xorshift64 state.
    state: u64,
}

impl Noise {
    /// Next pseudo-random 64-bit value.
    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    /// Flips one random bit of `byte` with probability `rate`; returns whether it did.
    fn apply(&mut self, byte: &mut u8) -> bool {
        let draw = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        if draw < self.rate {
            *byte ^= 1 << (self.next() % 8);
            true
        } else {
            false
        }
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        self.pipe.lock().closed = true;
        self.pipe.ready.notify_all();
    }
}

impl ByteSink for PipeWriter {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        let mut state = self.pipe.lock();
        for &b in bytes {
            let mut b = b;
            if let Some(noise) = self.noise.as_mut() {
                noise.apply(&mut b);
            }
            state.bytes.push_back(b);
        }
        drop(state);
        self.pipe.ready.notify_all();
        Ok(())
    }
}

impl ByteSource for PipeReader {
    fn read_timeout(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError> {
        let deadline = Instant::now() + timeout;
        let mut state = self.pipe.lock();
        loop {
            if !state.bytes.is_empty() {
                let n = buf.len().min(state.bytes.len());
                for (slot, b) in buf.iter_mut().zip(state.bytes.drain(..n)) {
                    *slot = b;
                }
                return Ok(n);
            }
            if state.closed {
                return Err(LinkError::Closed { device: self.name.clone() });
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Ok(0);
            }
            state = self
                .pipe
                .ready
                .wait_timeout(state, remaining)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }
}

/// One direction: a writer and its reader.
fn pipe(name: &str, noise: Option<Noise>) -> (PipeWriter, PipeReader) {
    let pipe = Arc::new(Pipe::default());
    (PipeWriter { pipe: pipe.clone(), noise }, PipeReader { pipe, name: name.to_owned() })
}

/// Two connected links (host end, arm end) with clean pipes.
pub fn pair(name: &str) -> (Link, Link) {
    noisy_pair(name, 0.0, 1)
}

/// Two connected links whose pipes flip one random bit in a byte with probability
/// `byte_error_rate` (both directions, seeded deterministically by `seed`).
pub fn noisy_pair(name: &str, byte_error_rate: f64, seed: u64) -> (Link, Link) {
    let noise = |salt: u64| {
        (byte_error_rate > 0.0)
            .then(|| Noise { rate: byte_error_rate, state: (seed ^ salt).max(1) })
    };
    let (to_arm_w, to_arm_r) = pipe(&format!("{name} (host to arm)"), noise(0x9E37_79B9));
    let (to_host_w, to_host_r) = pipe(&format!("{name} (arm to host)"), noise(0x85EB_CA6B));
    let host = framed_link(to_host_r, to_arm_w, format!("{name} host end"));
    let arm = framed_link(to_arm_r, to_host_w, format!("{name} arm end"));
    (host, arm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body;
    use crate::host::link::{send_message, RxEvent};
    use crate::protocol::{HostFrame, HostMessage};

    #[test]
    fn messages_cross_and_close_is_reported() {
        let (mut host, mut arm) = pair("test");
        let msg = HostFrame { seq: 1, message: HostMessage::Heartbeat };
        send_message(host.tx.as_mut(), &msg, "test").expect("sent");
        match arm.rx.recv(Duration::from_millis(100)).expect("received") {
            RxEvent::Message(bytes) => assert_eq!(body::parse::<HostFrame>(&bytes), Ok(msg)),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(arm.rx.recv(Duration::from_millis(1)).expect("idle"), RxEvent::Idle);
        drop(host);
        assert!(matches!(arm.rx.recv(Duration::from_millis(1)), Err(LinkError::Closed { .. })));
    }

    #[test]
    fn noise_is_detected_not_misread() {
        let (mut host, mut arm) = noisy_pair("noisy", 0.01, 7);
        let msg = HostFrame { seq: 1, message: HostMessage::TimeSync { host_send_us: u64::MAX } };
        for _ in 0..500 {
            send_message(host.tx.as_mut(), &msg, "noisy").expect("sent");
        }
        let (mut good, mut corrupt) = (0, 0);
        loop {
            match arm.rx.recv(Duration::from_millis(1)).expect("open") {
                RxEvent::Message(bytes) => {
                    assert_eq!(body::parse::<HostFrame>(&bytes).as_ref(), Ok(&msg));
                    good += 1;
                }
                RxEvent::Corrupt(_) => corrupt += 1,
                RxEvent::Idle => break,
            }
        }
        assert!(corrupt > 0 && good > 300, "good {good}, corrupt {corrupt}");
    }
}
