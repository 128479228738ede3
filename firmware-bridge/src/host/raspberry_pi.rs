//! Raspberry Pi specifics (feature `raspberry-pi`, through `rppal`): the hardware UART as a
//! link, and a GPIO input for a physical e-stop button.
//!
//! The Pi's UART is also an ordinary tty (`/dev/serial0`, `/dev/ttyAMA0`), so
//! [`crate::host::serial::open_serial`] works on it too; [`open_pi_uart`] is the rppal route.
//! On an NVIDIA Jetson the equivalent UART is `/dev/ttyTHS*` (use `open_serial`), and a GPIO
//! line is read through the GPIO character device (`/dev/gpiochipN`, the libgpiod / `gpiod`
//! interface) rather than rppal; see the crate README.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rppal::gpio::{Gpio, InputPin, Level, Trigger};
use rppal::uart::{Parity, Uart};

use super::link::{Link, LinkError};
use super::stream::{framed_link, ByteSink, ByteSource};

/// Polling interval of the UART reader (rppal reads are non-blocking here, so that a
/// writer is never held up by a blocked read).
const UART_POLL: Duration = Duration::from_micros(250);

/// Why a Raspberry Pi peripheral could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PiError {
    /// The UART could not be opened or configured.
    #[error("UART {path}: {source}")]
    Uart {
        /// Device path.
        path: String,
        /// Why.
        #[source]
        source: rppal::uart::Error,
    },
    /// The GPIO pin could not be used.
    #[error("GPIO pin {pin} (BCM numbering): {source}")]
    Gpio {
        /// BCM pin number.
        pin: u8,
        /// Why.
        #[source]
        source: rppal::gpio::Error,
    },
}

/// The UART shared by the link's two halves.
#[derive(Clone)]
struct SharedUart {
    /// The port.
    uart: Arc<Mutex<Uart>>,
    /// Device path.
    path: String,
}

impl SharedUart {
    /// Locks the port; a poisoned lock holds a usable port.
    fn lock(&self) -> MutexGuard<'_, Uart> {
        self.uart.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The error for a failed UART call.
    fn error(&self, operation: &'static str, e: rppal::uart::Error) -> LinkError {
        LinkError::io(&self.path, operation, std::io::Error::other(e))
    }
}

impl ByteSource for SharedUart {
    fn read_timeout(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError> {
        let deadline = Instant::now() + timeout;
        loop {
            let n = self.lock().read(buf).map_err(|e| self.error("read", e))?;
            if n > 0 || Instant::now() >= deadline {
                return Ok(n);
            }
            std::thread::sleep(UART_POLL.min(deadline.saturating_duration_since(Instant::now())));
        }
    }
}

impl ByteSink for SharedUart {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        let mut rest = bytes;
        while !rest.is_empty() {
            let n = self.lock().write(rest).map_err(|e| self.error("write", e))?;
            rest = rest.get(n..).unwrap_or_default();
        }
        Ok(())
    }
}

/// Opens a Pi UART (`/dev/serial0` for the primary one) at `baud`, 8N1, as a framed link.
pub fn open_pi_uart(path: &str, baud: u32) -> Result<Link, PiError> {
    let err = |source| PiError::Uart { path: path.to_owned(), source };
    let mut uart = Uart::with_path(path, baud, Parity::None, 8, 1).map_err(err)?;
    uart.set_read_mode(0, Duration::ZERO).map_err(err)?;
    uart.set_write_mode(true).map_err(err)?;
    let shared = SharedUart { uart: Arc::new(Mutex::new(uart)), path: path.to_owned() };
    Ok(framed_link(shared.clone(), shared, format!("Raspberry Pi UART {path}")))
}

/// How the e-stop button is wired to its GPIO pin (with the pin's pull-up enabled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EStopWiring {
    /// Normally-closed contact to ground: the pin reads low until the button is pressed or
    /// the wire is cut, so a broken wire also stops the arms (recommended).
    NormallyClosedToGround,
    /// Normally-open contact to ground: the pin reads low while pressed.
    NormallyOpenToGround,
}

impl EStopWiring {
    /// The pin level that means "stop".
    const fn asserted_level(self) -> Level {
        match self {
            EStopWiring::NormallyClosedToGround => Level::High,
            EStopWiring::NormallyOpenToGround => Level::Low,
        }
    }
}

/// A physical e-stop button on a GPIO pin.
pub struct EStopInput {
    /// The pin, with pull-up.
    pin: InputPin,
    /// Wiring.
    wiring: EStopWiring,
    /// BCM pin number.
    number: u8,
}

impl EStopInput {
    /// Opens BCM pin `pin` as an input with pull-up.
    pub fn open(pin: u8, wiring: EStopWiring) -> Result<Self, PiError> {
        let err = |source| PiError::Gpio { pin, source };
        let input = Gpio::new().map_err(err)?.get(pin).map_err(err)?.into_input_pullup();
        Ok(Self { pin: input, wiring, number: pin })
    }

    /// True while the button says stop.
    pub fn is_asserted(&self) -> bool {
        self.pin.read() == self.wiring.asserted_level()
    }

    /// Calls `on_stop` (typically [`crate::host::ArmClient::estop`] on both arms) on every
    /// transition to the stop level, debounced by `debounce`, from a background thread.
    pub fn on_assert<F>(&mut self, debounce: Duration, mut on_stop: F) -> Result<(), PiError>
    where
        F: FnMut() + Send + 'static,
    {
        let trigger = match self.wiring.asserted_level() {
            Level::High => Trigger::RisingEdge,
            Level::Low => Trigger::FallingEdge,
        };
        let pin = self.number;
        self.pin
            .set_async_interrupt(trigger, Some(debounce), move |_event| on_stop())
            .map_err(|source| PiError::Gpio { pin, source })
    }
}
