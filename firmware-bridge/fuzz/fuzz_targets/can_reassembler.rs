//! Arbitrary CAN frame payloads into the ISO-TP reassembler (classic and FD): nothing may
//! panic and no completed body may exceed the body limit. Input: a length byte (taken
//! modulo 65) then that many payload bytes, repeated.
#![no_main]

use firmware_bridge::body::{self, MAX_BODY_LEN};
use firmware_bridge::can::{CanMode, Reassembler};
use firmware_bridge::protocol::HostFrame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for mode in [CanMode::Classic, CanMode::Fd] {
        let mut r = Reassembler::new(mode);
        let mut rest = data;
        while let Some((&len, tail)) = rest.split_first() {
            let len = usize::from(len % 65).min(tail.len());
            let (frame, after) = tail.split_at(len);
            rest = after;
            if let Some(Ok(b)) = r.push(frame) {
                assert!(b.len() <= MAX_BODY_LEN);
                let _ = body::decode::<HostFrame>(b);
            }
        }
    }
});
