//! Arbitrary bytes into the COBS frame decoder and the body decoder, for both directions'
//! message types: nothing may panic, and a decoded message must re-encode to a frame that
//! decodes to the same bytes.
#![no_main]

use firmware_bridge::body;
use firmware_bridge::frame::{encode_frame, FrameDecoder, MAX_FRAME_LEN};
use firmware_bridge::protocol::{ArmMessage, HostFrame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut host = FrameDecoder::new();
    let mut arm = FrameDecoder::new();
    for &b in data {
        if let Some(Ok(message)) = host.push_message::<HostFrame>(b) {
            let mut out = [0u8; MAX_FRAME_LEN];
            let n = encode_frame(&message, &mut out).expect("a decoded message re-encodes");
            let mut again = FrameDecoder::new();
            let mut decoded = 0;
            for &byte in &out[..n] {
                if let Some(result) = again.push_message::<HostFrame>(byte) {
                    let copy = result.expect("a re-encoded frame decodes");
                    let mut out2 = [0u8; MAX_FRAME_LEN];
                    let n2 = encode_frame(&copy, &mut out2).expect("re-encodes");
                    assert_eq!(&out[..n], &out2[..n2], "decoding is the inverse of encoding");
                    decoded += 1;
                }
            }
            assert_eq!(decoded, 1);
        }
        let _ = arm.push_message::<ArmMessage>(b);
    }
    let _ = body::decode::<HostFrame>(data);
    let _ = body::decode::<ArmMessage>(data);
});
