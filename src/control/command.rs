//! The command protocol of the status socket: one JSON object per line in each direction.
//!
//! ```text
//! {"command":"status"}                              → {"ok":true,"status":{…}}
//! {"command":"set_instruction","text":"fold it"}    → {"ok":true}
//! {"command":"estop"} / {"command":"clear_estop"}   → {"ok":true} or {"ok":false,"error":"…"}
//! {"command":"pause"} / {"command":"resume"}        → {"ok":true}
//! ```

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::status::StatusReport;

/// Longest request or reply line accepted (bytes).
pub const MAX_LINE: usize = 1 << 20;

/// A request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// The status report.
    Status,
    /// Replace the instruction.
    SetInstruction {
        /// The new instruction.
        text: String,
    },
    /// Latch the e-stop.
    Estop,
    /// Release the e-stop (refused while the e-stop line is asserted).
    ClearEstop,
    /// Stop starting inferences; the arms hold.
    Pause,
    /// Start inferences again.
    Resume,
}

/// A reply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// True when the request was carried out.
    pub ok: bool,
    /// Why not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The status report (for `status`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Box<StatusReport>>,
}

impl Reply {
    /// Success without data.
    pub fn ok() -> Self {
        Self { ok: true, error: None, status: None }
    }

    /// Failure with its reason.
    pub fn error(reason: impl Into<String>) -> Self {
        Self { ok: false, error: Some(reason.into()), status: None }
    }

    /// A status report.
    pub fn status(report: StatusReport) -> Self {
        Self { ok: true, error: None, status: Some(Box::new(report)) }
    }
}

/// Parses one request line.
pub fn parse_request(line: &[u8]) -> Result<Request, String> {
    serde_json::from_slice(line).map_err(|e| format!("bad request: {e}"))
}

/// Why talking to the socket failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Connecting, sending or receiving failed.
    #[error("{path}: {source}")]
    Io {
        /// The socket.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The reply was not understood.
    #[error("{path}: bad reply: {reason}")]
    BadReply {
        /// The socket.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Sends `request` to the socket at `path` and waits up to `timeout` for the reply.
pub fn send(path: &Path, request: &Request, timeout: Duration) -> Result<Reply, CommandError> {
    let io = |source| CommandError::Io { path: path.to_owned(), source };
    let mut stream = UnixStream::connect(path).map_err(io)?;
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    let mut line = serde_json::to_vec(request)
        .map_err(|e| CommandError::BadReply { path: path.to_owned(), reason: e.to_string() })?;
    line.push(b'\n');
    stream.write_all(&line).map_err(io)?;
    let mut reply = Vec::new();
    BufReader::new(std::io::Read::take(stream, MAX_LINE as u64))
        .read_until(b'\n', &mut reply)
        .map_err(io)?;
    serde_json::from_slice(&reply)
        .map_err(|e| CommandError::BadReply { path: path.to_owned(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_every_request() {
        let cases = [
            (r#"{"command":"status"}"#, Request::Status),
            (
                r#"{"command":"set_instruction","text":"fold the towel"}"#,
                Request::SetInstruction { text: "fold the towel".into() },
            ),
            (r#"{"command":"estop"}"#, Request::Estop),
            (r#"{"command":"clear_estop"}"#, Request::ClearEstop),
            (r#"{"command":"pause"}"#, Request::Pause),
            (r#"{"command":"resume"}"#, Request::Resume),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_request(text.as_bytes()), Ok(expected.clone()));
            let round = serde_json::to_vec(&expected).expect("serialise");
            assert_eq!(parse_request(&round), Ok(expected));
        }
    }

    #[test]
    fn refuses_unknown_commands_and_fields() {
        assert!(parse_request(br#"{"command":"explode"}"#).is_err());
        assert!(parse_request(br#"{"command":"set_instruction","text":"a","x":1}"#).is_err());
        assert!(parse_request(br#"{"command":"set_instruction"}"#).is_err());
        assert!(parse_request(b"pause").is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_request(&bytes);
        }

        #[test]
        fn arbitrary_json_shaped_text_never_panics(text in r#"\{("[a-z_]{0,12}":("[a-z ]{0,10}"|[0-9]{1,3}|true|null),?){0,4}\}"#) {
            let _ = parse_request(text.as_bytes());
        }
    }
}
