//! Property tests of the wire: every message round-trips, every framing fault (bit flip,
//! truncation, arbitrary splits, garbage bursts) is detected or recovered from within one
//! frame, segmentation survives or reports loss, and no decoder panics on arbitrary bytes.

mod strategies;

use firmware_bridge::body::{self, MAX_BODY_LEN};
use firmware_bridge::can::{segment, CanMode, Reassembler};
use firmware_bridge::frame::{encode_frame, FrameDecoder, MAX_FRAME_LEN};
use firmware_bridge::protocol::{ArmMessage, HostFrame, HostMessage};
use proptest::prelude::*;
use strategies::{any_arm_message, any_chunk, any_host_frame, plausible_pose};

/// One message's frame bytes.
fn frame_of<M: serde::Serialize>(message: &M) -> Vec<u8> {
    let mut out = [0u8; MAX_FRAME_LEN];
    let n = encode_frame(message, &mut out).expect("every message fits a frame");
    out[..n].to_vec()
}

/// The frames of `messages` back to back, with the byte range of each.
fn stream_of(messages: &[HostFrame]) -> (Vec<u8>, Vec<std::ops::Range<usize>>) {
    let mut stream = Vec::new();
    let mut ranges = Vec::new();
    for m in messages {
        let f = frame_of(m);
        ranges.push(stream.len()..stream.len() + f.len());
        stream.extend_from_slice(&f);
    }
    (stream, ranges)
}

/// Decodes a byte stream fed in the given pieces: the messages and the number of errors.
fn decode_pieces<'a>(pieces: impl IntoIterator<Item = &'a [u8]>) -> (Vec<HostFrame>, usize) {
    let mut decoder = FrameDecoder::new();
    let mut messages = Vec::new();
    let mut errors = 0;
    for piece in pieces {
        for &b in piece {
            match decoder.push_message::<HostFrame>(b) {
                Some(Ok(m)) => messages.push(m),
                Some(Err(_)) => errors += 1,
                None => {}
            }
        }
    }
    (messages, errors)
}

/// Postcard bytes of a message (for bit-exact comparison, NaN payloads included).
fn bytes_of<M: serde::Serialize>(message: &M) -> Vec<u8> {
    let mut buf = [0u8; MAX_BODY_LEN];
    let n = body::encode(message, &mut buf).expect("fits");
    buf[..n].to_vec()
}

/// Messages that are equal bit for bit.
fn same(a: &[HostFrame], b: &[HostFrame]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| bytes_of(x) == bytes_of(y))
}

/// A frame sent after the corrupted stream, as the next frame on a live line would be: it
/// ends a frame whose trailing delimiter was corrupted.
fn sentinel() -> HostFrame {
    HostFrame { seq: 0xDEAD, message: HostMessage::Heartbeat }
}

/// After corrupting frame `hit`: that frame was dropped and reported, every other frame
/// arrived exactly as sent, nothing else was decoded.
fn flip_outcome_is_safe(
    sent: &[HostFrame],
    hit: usize,
    decoded: &[HostFrame],
    errors: usize,
) -> bool {
    let mut without_hit = sent.to_vec();
    without_hit.remove(hit);
    errors >= 1 && same(decoded, &without_hit)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn host_messages_round_trip(frame in any_host_frame()) {
        let bytes = bytes_of(&frame);
        let decoded: HostFrame = body::decode(&bytes).expect("decodes");
        prop_assert_eq!(bytes_of(&decoded), bytes);
    }

    #[test]
    fn arm_messages_round_trip(message in any_arm_message()) {
        let bytes = bytes_of(&message);
        let decoded: ArmMessage = body::decode(&bytes).expect("decodes");
        prop_assert_eq!(bytes_of(&decoded), bytes);
    }

    #[test]
    fn finite_messages_round_trip_to_equal_values(chunk in any_chunk(plausible_pose())) {
        let frame = HostFrame { seq: 1, message: HostMessage::Chunk(chunk) };
        let decoded: HostFrame = body::decode(&bytes_of(&frame)).expect("decodes");
        prop_assert_eq!(decoded, frame);
    }

    #[test]
    fn frames_survive_any_split(
        messages in prop::collection::vec(any_host_frame(), 1..4),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let (stream, _) = stream_of(&messages);
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        points.push(0);
        points.push(stream.len());
        points.sort_unstable();
        let pieces = points.windows(2).map(|w| &stream[w[0]..w[1]]);
        let (decoded, errors) = decode_pieces(pieces);
        prop_assert_eq!(errors, 0);
        prop_assert!(same(&decoded, &messages));
    }

    #[test]
    fn a_bit_flip_costs_at_most_its_own_frame(
        messages in prop::collection::vec(any_host_frame(), 1..4),
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let (mut stream, ranges) = stream_of(&messages);
        let at = position.index(stream.len());
        stream[at] ^= 1 << bit;
        let hit = ranges.iter().position(|r| r.contains(&at)).expect("inside some frame");
        let (decoded, errors) = decode_pieces([&stream[..], &frame_of(&sentinel())[..]]);
        let mut sent = messages.clone();
        sent.push(sentinel());
        prop_assert!(flip_outcome_is_safe(&sent, hit, &decoded, errors), "flip at {}", at);
    }

    #[test]
    fn a_truncated_frame_costs_only_itself(
        first in any_host_frame(),
        rest in prop::collection::vec(any_host_frame(), 1..3),
        cut in any::<prop::sample::Index>(),
    ) {
        let truncated = frame_of(&first);
        let keep = cut.index(truncated.len());
        let (tail, _) = stream_of(&rest);
        let (decoded, _) = decode_pieces([&truncated[..keep], &tail[..]]);
        // Cutting only the trailing delimiter loses nothing: the next frame's leading
        // delimiter ends the frame instead.
        let mut whole = vec![first];
        whole.extend(rest.iter().cloned());
        let intact = keep == truncated.len() - 1 && same(&decoded, &whole);
        prop_assert!(intact || same(&decoded, &rest));
    }

    #[test]
    fn a_garbage_burst_costs_at_most_the_frame_it_lands_in(
        messages in prop::collection::vec(any_host_frame(), 2..5),
        position in any::<prop::sample::Index>(),
        garbage in prop::collection::vec(any::<u8>(), 1..3000),
    ) {
        let (stream, ranges) = stream_of(&messages);
        let at = position.index(stream.len() + 1);
        let mut noisy = stream[..at].to_vec();
        noisy.extend_from_slice(&garbage);
        noisy.extend_from_slice(&stream[at..]);
        let (decoded, _) = decode_pieces([&noisy[..]]);
        // A burst between frames costs nothing. One strictly inside a frame costs at most
        // that frame (a burst that is only zeros next to the frame's own delimiters leaves
        // it intact); every other frame arrives, and nothing else.
        let hit = ranges.iter().position(|r| r.start < at && at < r.end);
        let mut without_hit = messages.clone();
        if let Some(hit) = hit {
            without_hit.remove(hit);
        }
        prop_assert!(same(&decoded, &without_hit) || same(&decoded, &messages));
    }

    #[test]
    fn arbitrary_bytes_never_panic_any_decoder(
        bytes in prop::collection::vec(any::<u8>(), 0..4000),
    ) {
        let mut host = FrameDecoder::new();
        let mut arm = FrameDecoder::new();
        for &b in &bytes {
            let _ = host.push_message::<HostFrame>(b);
            let _ = arm.push_message::<ArmMessage>(b);
        }
        let _ = body::decode::<HostFrame>(&bytes);
        let _ = body::decode::<ArmMessage>(&bytes);
        let _ = body::parse::<HostFrame>(&bytes);
        let _ = body::parse::<ArmMessage>(&bytes);
        for mode in [CanMode::Classic, CanMode::Fd] {
            let mut r = Reassembler::new(mode);
            for piece in bytes.chunks(mode.max_len()) {
                let _ = r.push(piece);
            }
        }
    }

    #[test]
    fn arbitrary_can_frames_never_panic_the_reassembler(
        frames in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..70), 0..80),
    ) {
        for mode in [CanMode::Classic, CanMode::Fd] {
            let mut r = Reassembler::new(mode);
            for f in &frames {
                if let Some(Ok(body)) = r.push(f) {
                    prop_assert!(body.len() <= MAX_BODY_LEN);
                }
            }
        }
    }

    #[test]
    fn segmentation_round_trips(
        body in prop::collection::vec(any::<u8>(), 1..=MAX_BODY_LEN),
        fd in any::<bool>(),
    ) {
        let mode = if fd { CanMode::Fd } else { CanMode::Classic };
        let mut r = Reassembler::new(mode);
        let mut out = None;
        for f in segment(&body, mode).expect("segmentable") {
            prop_assert!(f.len() <= mode.max_len());
            if let Some(result) = r.push(&f) {
                out = Some(result.expect("clean frames").to_vec());
            }
        }
        prop_assert_eq!(out, Some(body));
    }

    #[test]
    fn a_lost_or_repeated_segment_is_detected_and_the_next_message_decodes(
        len in 8usize..=MAX_BODY_LEN,
        victim in any::<prop::sample::Index>(),
        repeat in any::<bool>(),
        fd in any::<bool>(),
    ) {
        let mode = if fd { CanMode::Fd } else { CanMode::Classic };
        let first: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let frames: Vec<_> = segment(&first, mode).expect("segmentable").collect();
        prop_assume!(frames.len() > 1);
        let v = victim.index(frames.len());
        let mut damaged: Vec<_> = frames.clone();
        if repeat {
            damaged.insert(v, frames[v].clone());
        } else {
            damaged.remove(v);
        }
        let second = vec![0xA5u8; 100];
        damaged.extend(segment(&second, mode).expect("segmentable"));
        let mut r = Reassembler::new(mode);
        let mut bodies = Vec::new();
        for f in &damaged {
            if let Some(Ok(b)) = r.push(f) {
                bodies.push(b.to_vec());
            }
        }
        // Repeating the first frame restarts the same message, which still arrives whole;
        // any other loss or repeat inside the message must drop it.
        // Repeating the last frame after the message completed is a stray frame.
        let restarts_cleanly = repeat && (v == 0 || v == frames.len() - 1);
        let expected = if restarts_cleanly { vec![first, second] } else { vec![second] };
        prop_assert_eq!(bodies, expected);
    }
}

#[test]
fn every_single_bit_flip_of_a_mixed_stream_is_detected() {
    let chunk_poses = [firmware_bridge::protocol::ArmPose::at([0.1, 0.2, 0.3], 0.4); 32];
    let chunk = firmware_bridge::protocol::ActionChunk::new(7, 1 << 40, 20_000, &chunk_poses)
        .expect("valid");
    let messages = vec![
        HostFrame { seq: 1, message: HostMessage::Heartbeat },
        HostFrame { seq: u32::MAX, message: HostMessage::Chunk(chunk) },
        HostFrame { seq: 3, message: HostMessage::TimeSync { host_send_us: 0 } },
    ];
    let (stream, ranges) = stream_of(&messages);
    let mut sent = messages.clone();
    sent.push(sentinel());
    for at in 0..stream.len() {
        let hit = ranges.iter().position(|r| r.contains(&at)).expect("inside some frame");
        for bit in 0..8 {
            let mut flipped = stream.clone();
            flipped[at] ^= 1 << bit;
            let (decoded, errors) = decode_pieces([&flipped[..], &frame_of(&sentinel())[..]]);
            assert!(
                flip_outcome_is_safe(&sent, hit, &decoded, errors),
                "flip of bit {bit} at byte {at}"
            );
        }
    }
}

#[test]
fn the_largest_messages_fit_their_limits() {
    let poses = [firmware_bridge::protocol::ArmPose::from_array([f32::MAX; 10]); 32];
    let chunk = firmware_bridge::protocol::ActionChunk::new(u32::MAX, u64::MAX, u32::MAX, &poses)
        .expect("ok");
    let frame = HostFrame { seq: u32::MAX, message: HostMessage::Chunk(chunk) };
    let body = bytes_of(&frame);
    assert!(body.len() <= MAX_BODY_LEN, "{} bytes", body.len());
    assert!(frame_of(&frame).len() <= MAX_FRAME_LEN);
}

/// What happens next to an arm in the state-machine property.
#[derive(Debug, Clone)]
enum Step {
    /// A request arrives.
    Request(Box<HostMessage>),
    /// Time passes by this many microseconds, then a control tick runs.
    Tick(u64),
}

fn any_step() -> impl Strategy<Value = Step> {
    use strategies::{any_host_message, any_pose};
    let hello = HostMessage::Hello(firmware_bridge::protocol::HostHello {
        protocol_version: firmware_bridge::protocol::PROTOCOL_VERSION,
        schema_hash: firmware_bridge::protocol::SCHEMA_HASH,
    });
    let now_ish_chunk = (
        any::<u32>(),
        0u64..200_000,
        1u32..50_000,
        prop::collection::vec(prop_oneof![3 => plausible_pose(), 1 => any_pose()], 1..=8),
    )
        .prop_map(|(seq, start, period, poses)| {
            let chunk = firmware_bridge::protocol::ActionChunk::new(seq, start, period, &poses)
                .expect("valid shape");
            HostMessage::Chunk(chunk)
        });
    prop_oneof![
        1 => Just(Step::Request(Box::new(hello))),
        1 => Just(Step::Request(Box::new(HostMessage::Enable))),
        4 => now_ish_chunk.prop_map(|m| Step::Request(Box::new(m))),
        1 => any_host_message().prop_map(|m| Step::Request(Box::new(m))),
        8 => (0u64..20_000).prop_map(Step::Tick),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever arrives, the setpoint is finite, inside the workspace and gripper range,
    /// moves at most one step per tick while powered, and the motors stay powered unless
    /// disabled.
    #[test]
    fn the_setpoint_is_always_safe(
        steps in prop::collection::vec(any_step(), 1..200),
        start in prop::array::uniform3(-1.0f32..1.0),
    ) {
        use firmware_bridge::mcu::{ArmConfig, ArmController, Command};
        use firmware_bridge::protocol::{ArmId, ArmLimits, ArmPose, Capabilities, FirmwareVersion, Mode};
        let limits = ArmLimits::default();
        let mut c = ArmController::new(ArmConfig {
            arm_id: ArmId::Right,
            firmware_version: FirmwareVersion { major: 1, minor: 0, patch: 0 },
            capabilities: Capabilities::NONE,
            limits,
        }).expect("valid limits");
        let measured = ArmPose::at(start, 0.5);
        let mut now = 0u64;
        let mut previous: Option<ArmPose> = None;
        for (i, step) in steps.into_iter().enumerate() {
            match step {
                Step::Request(message) => {
                    let before = c.mode();
                    let _ = c.handle(&HostFrame { seq: i as u32, message: *message }, now);
                    // Enabling restarts from the measured pose, wherever the last powered
                    // setpoint was: the step bound starts afresh.
                    if before == Mode::Disabled {
                        previous = None;
                    }
                }
                Step::Tick(dt) => {
                    now += dt;
                    let command = c.tick(now, &measured);
                    match (c.mode(), command) {
                        (Mode::Enabled, Command::Track(_)) | (Mode::Holding, Command::Hold(_))
                        | (Mode::EStopped, _) | (Mode::Disabled, Command::Off) => {}
                        (mode, command) => prop_assert!(false, "{:?} gave {:?}", mode, command),
                    }
                    let Some(pose) = command.setpoint() else {
                        previous = None;
                        continue;
                    };
                    prop_assert!(pose.is_finite(), "{:?}", pose);
                    for axis in 0..3 {
                        prop_assert!(pose.xyz[axis] >= limits.workspace_min[axis]);
                        prop_assert!(pose.xyz[axis] <= limits.workspace_max[axis]);
                    }
                    prop_assert!((limits.gripper_min..=limits.gripper_max).contains(&pose.gripper));
                    if let Some(p) = previous {
                        let d: f32 = (0..3).map(|a| (pose.xyz[a] - p.xyz[a]).powi(2)).sum::<f32>().sqrt();
                        // f32 positions near 1 m carry about 0.1 um of rounding.
                        prop_assert!(d <= limits.max_step_m + 1e-6, "jumped {} m", d);
                    }
                    previous = Some(pose);
                }
            }
        }
    }
}
