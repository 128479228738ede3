//! The latched e-stop: triggered by the input line (polled by a monitor thread), by the
//! command socket or by the control loop; it tells both arms to brake and hold (their firmware
//! latches too), stops the loop from sending anything but e-stops, and stays latched until it
//! is cleared by a command while the line is released.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use firmware_bridge::host::ArmClient;

use super::estop_line::EStopLine;
use super::events::{EventKind, SafetyEvents};

/// Locks a mutex, carrying on with the data of a poisoned one (every critical section leaves
/// it consistent).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The e-stop state shared by the monitor, the command socket and the control loop.
pub struct EStop {
    cause: Mutex<Option<String>>,
    line_asserted: AtomicBool,
    arms: Vec<Arc<ArmClient>>,
    events: Arc<SafetyEvents>,
}

impl std::fmt::Debug for EStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EStop").field("cause", &*lock(&self.cause)).finish_non_exhaustive()
    }
}

impl EStop {
    /// An unlatched e-stop for `arms`.
    pub fn new(arms: Vec<Arc<ArmClient>>, events: Arc<SafetyEvents>) -> Self {
        Self { cause: Mutex::new(None), line_asserted: AtomicBool::new(false), arms, events }
    }

    /// Latches (if not latched yet: logged and counted with `cause`) and tells every arm to
    /// e-stop. Returns true when this call latched it.
    pub fn trigger(&self, cause: &str) -> bool {
        let newly = {
            let mut current = lock(&self.cause);
            let newly = current.is_none();
            if newly {
                *current = Some(cause.to_owned());
            }
            newly
        };
        if newly {
            self.events.record(EventKind::EStop, &cause);
        }
        self.send_to_arms();
        newly
    }

    /// Tells every arm to e-stop (again); failures are logged and counted.
    pub fn send_to_arms(&self) {
        for arm in &self.arms {
            if let Err(e) = arm.estop() {
                self.events.record(EventKind::ArmCommandFailed, &format!("e-stop: {e}"));
            }
        }
    }

    /// True while latched.
    pub fn is_latched(&self) -> bool {
        lock(&self.cause).is_some()
    }

    /// Why it is latched.
    pub fn cause(&self) -> Option<String> {
        lock(&self.cause).clone()
    }

    /// True while the input line says stop.
    pub fn line_asserted(&self) -> bool {
        self.line_asserted.load(Ordering::SeqCst)
    }

    /// Releases the e-stop: refused while the line is asserted; otherwise every arm's e-stop
    /// is cleared and the arm enabled again, then the latch opens. If an arm fails, the latch
    /// stays closed and the error is returned.
    pub fn clear(&self) -> Result<(), String> {
        if self.line_asserted() {
            return Err("the e-stop line is still asserted".into());
        }
        for arm in &self.arms {
            arm.clear_estop().map_err(|e| format!("clearing the e-stop: {e}"))?;
            arm.enable().map_err(|e| format!("enabling after the e-stop: {e}"))?;
        }
        if lock(&self.cause).take().is_some() {
            log::warn!(target: "safety", "e-stop cleared");
        }
        Ok(())
    }

    fn set_line(&self, asserted: bool) {
        self.line_asserted.store(asserted, Ordering::SeqCst);
    }
}

/// A thread that polls an [`EStopLine`] and triggers the [`EStop`] while it is asserted (or
/// unreadable). Dropping it stops the thread.
pub struct EStopMonitor {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EStopMonitor {
    /// Starts polling `line` every `poll`.
    pub fn start(
        mut line: Box<dyn EStopLine>,
        poll: Duration,
        estop: Arc<EStop>,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new().name("estop-monitor".into()).spawn(move || {
            let description = line.describe();
            while !thread_stop.load(Ordering::SeqCst) {
                let (asserted, cause) = match line.is_asserted() {
                    Ok(true) => (true, format!("e-stop line asserted ({description})")),
                    Ok(false) => (false, String::new()),
                    Err(e) => (true, format!("e-stop line unreadable ({description}): {e}")),
                };
                estop.set_line(asserted);
                if asserted && !estop.is_latched() {
                    estop.trigger(&cause);
                }
                std::thread::sleep(poll);
            }
        })?;
        Ok(Self { stop, thread: Some(thread) })
    }
}

impl Drop for EStopMonitor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            // A monitor that panicked has nothing to clean up.
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::estop_line::FileEStopLine;
    use std::time::Instant;

    fn wait_for(mut condition: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if condition() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        false
    }

    #[test]
    fn latches_until_cleared_and_refuses_to_clear_while_the_line_is_asserted() {
        let dir = std::env::temp_dir().join(format!("estop-monitor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("line");
        std::fs::write(&path, "0").expect("write");
        let events = Arc::new(SafetyEvents::new());
        let estop = Arc::new(EStop::new(Vec::new(), Arc::clone(&events)));
        let _monitor = EStopMonitor::start(
            Box::new(FileEStopLine::new(&path)),
            Duration::from_millis(1),
            Arc::clone(&estop),
        )
        .expect("monitor");
        std::thread::sleep(Duration::from_millis(20));
        assert!(!estop.is_latched());
        std::fs::write(&path, "1").expect("write");
        assert!(wait_for(|| estop.is_latched()), "line assertion latches");
        assert!(estop.cause().is_some_and(|c| c.contains("asserted")));
        assert!(estop.clear().is_err(), "refused while asserted");
        std::fs::write(&path, "0").expect("write");
        assert!(wait_for(|| !estop.line_asserted()));
        assert!(estop.is_latched(), "releasing the line does not unlatch");
        estop.clear().expect("cleared");
        assert!(!estop.is_latched());
        assert_eq!(events.count(EventKind::EStop), 1);
        // A command e-stop latches too, counted once however often it is repeated.
        assert!(estop.trigger("command"));
        assert!(!estop.trigger("command again"));
        assert_eq!(events.count(EventKind::EStop), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
