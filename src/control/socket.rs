//! The status and command socket: a Unix stream socket that only its owner can use (mode
//! 0600, and every connection's peer must be the same user or root), serving the line
//! protocol of [`super::command`] from one background thread.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
use nix::sys::stat::{umask, Mode};

use super::command::{parse_request, Reply, Request, MAX_LINE};

/// How long a client may take to send a request.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);

/// How often the accept loop looks at the stop flag.
const ACCEPT_POLL: Duration = Duration::from_millis(20);

/// Carries out one request.
pub type Handler = Arc<dyn Fn(Request) -> Reply + Send + Sync>;

/// Why the socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// A file operation failed.
    #[error("status socket {path}: {operation}: {source}")]
    Io {
        /// The socket path.
        path: PathBuf,
        /// What was being done.
        operation: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Another process answers on the socket.
    #[error("status socket {0}: another instance is running (it answers on this socket)")]
    InUse(PathBuf),
}

/// The serving socket; dropping it stops the thread and removes the socket file.
pub struct CommandServer {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for CommandServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandServer").field("path", &self.path).finish_non_exhaustive()
    }
}

impl CommandServer {
    /// Binds `path` (creating its directory with mode 0700 if missing, replacing a stale
    /// socket) and serves `handler` from a background thread.
    pub fn bind(path: &Path, handler: Handler) -> Result<Self, SocketError> {
        let err =
            |operation| move |source| SocketError::Io { path: path.to_owned(), operation, source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            std::fs::create_dir_all(dir).map_err(err("create directory"))?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(err("set directory mode"))?;
        }
        if path.exists() {
            if UnixStream::connect(path).is_ok() {
                return Err(SocketError::InUse(path.to_owned()));
            }
            std::fs::remove_file(path).map_err(err("remove stale socket"))?;
        }
        // The socket file is created with mode 0600 from the start (umask), not fixed later.
        let previous = umask(Mode::from_bits_truncate(0o177));
        let bound = UnixListener::bind(path);
        umask(previous);
        let listener = bound.map_err(err("bind"))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(err("set socket mode"))?;
        listener.set_nonblocking(true).map_err(err("set non-blocking"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("status-socket".into())
            .spawn(move || serve(&listener, &handler, &thread_stop))
            .map_err(err("start thread"))?;
        Ok(Self { path: path.to_owned(), stop, thread: Some(thread) })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for CommandServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            // A server thread that panicked has nothing to clean up.
            let _ = thread.join();
        }
        // Already gone is fine.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Accept loop.
fn serve(listener: &UnixListener, handler: &Handler, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                if let Err(e) = serve_client(stream, handler) {
                    log::debug!("status socket client: {e}");
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(ACCEPT_POLL),
            Err(e) => {
                log::warn!("status socket: accept: {e}");
                std::thread::sleep(ACCEPT_POLL);
            }
        }
    }
}

/// True when the peer is this process's user or root.
fn peer_allowed(stream: &UnixStream) -> bool {
    let ours = nix::unistd::geteuid().as_raw();
    getsockopt(stream, PeerCredentials).is_ok_and(|cred| cred.uid() == ours || cred.uid() == 0)
}

/// Answers one client's requests until it closes the connection.
fn serve_client(stream: UnixStream, handler: &Handler) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let mut writer = stream.try_clone()?;
    if !peer_allowed(&stream) {
        return write_reply(&mut writer, &Reply::error("permission denied"));
    }
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = Vec::new();
        let n = (&mut reader).take(MAX_LINE as u64).read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(());
        }
        if line.last() != Some(&b'\n') && n as u64 == MAX_LINE as u64 {
            return write_reply(&mut writer, &Reply::error("request too long"));
        }
        let reply = match parse_request(&line) {
            Ok(request) => handler(request),
            Err(e) => Reply::error(e),
        };
        write_reply(&mut writer, &reply)?;
    }
}

fn write_reply(writer: &mut UnixStream, reply: &Reply) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec(reply).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    writer.write_all(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::command::send;
    use std::os::unix::fs::FileTypeExt;

    #[test]
    fn serves_requests_owner_only_and_cleans_up() {
        let dir = std::env::temp_dir().join(format!("socket-test-{}", std::process::id()));
        let path = dir.join("sub").join("control.sock");
        let handler: Handler = Arc::new(|request| match request {
            Request::Pause => Reply::ok(),
            other => Reply::error(format!("not here: {other:?}")),
        });
        let server = CommandServer::bind(&path, Arc::clone(&handler)).expect("bind");
        let meta = std::fs::metadata(&path).expect("socket file");
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let dir_mode = std::fs::metadata(dir.join("sub")).expect("dir").permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        let timeout = Duration::from_secs(2);
        assert_eq!(send(&path, &Request::Pause, timeout).expect("reply"), Reply::ok());
        let reply = send(&path, &Request::Resume, timeout).expect("reply");
        assert!(!reply.ok && reply.error.is_some_and(|e| e.contains("Resume")));
        // A malformed line gets an error reply, not a hang or a crash.
        let mut raw = UnixStream::connect(&path).expect("connect");
        raw.write_all(b"{nonsense\n").expect("write");
        let mut answer = String::new();
        BufReader::new(&raw).read_line(&mut answer).expect("read");
        assert!(answer.contains("\"ok\":false"), "{answer}");
        // A second server on the same path is refused while the first answers.
        assert!(matches!(CommandServer::bind(&path, handler), Err(SocketError::InUse(_))));
        drop(server);
        assert!(!path.exists(), "socket removed on drop");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
