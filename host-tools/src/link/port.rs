//! Opening the link to a device: a serial port (a board's `/dev/ttyACM0`, or a
//! pty such as QEMU's `-serial pty`), a Unix socket (QEMU's `-chardev
//! socket,path=...,server=on`) or a TCP `host:port` (QEMU's `-serial
//! tcp:...,server=on`). Each gives one reading and one writing end, both with
//! the same timeout, so no read or write ever waits forever.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};

use crate::io::show;

/// An open link: its two ends, and what it is (for messages).
pub struct Link {
    /// Where the device's bytes come from. A read waits at most the link's
    /// timeout, then fails with [`io::ErrorKind::TimedOut`] or
    /// [`io::ErrorKind::WouldBlock`]; `Ok(0)` means the other end closed the
    /// link (a socket; a serial port reports a hang-up as an error).
    pub reader: Box<dyn Read + Send>,
    /// Where the streams go; a write that makes no progress for the timeout
    /// fails the same way.
    pub writer: Box<dyn Write + Send>,
    /// `serial port /dev/ttyACM0 at 115200 baud`, `Unix socket x.sock`, `TCP 127.0.0.1:4444`.
    pub what: String,
    /// The timeout of each read and write.
    pub timeout: Duration,
}

/// Opens `port`: an existing socket file is connected to as a Unix socket, any
/// other existing path is opened as a serial port (8N1, no flow control, raw,
/// `baud` baud; a pty ignores the rate), and a `host:port` that is no file is
/// connected to over TCP (waiting at most `timeout` for the connection).
///
/// Errors name the port: it does not exist and is no `host:port`, it cannot be
/// opened (busy, permissions), the connection was refused.
pub fn open(port: &str, baud: u32, timeout: Duration) -> Result<Link> {
    let path = Path::new(port);
    match std::fs::metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            let stream =
                UnixStream::connect(path).with_context(|| format!("{}: cannot connect to the socket", show(path)))?;
            stream.set_read_timeout(Some(timeout))?;
            stream.set_write_timeout(Some(timeout))?;
            let reader = stream.try_clone()?;
            Ok(Link {
                reader: Box::new(reader),
                writer: Box::new(stream),
                what: format!("Unix socket {}", show(path)),
                timeout,
            })
        }
        Ok(_) => open_serial(port, baud, timeout),
        Err(e) if e.kind() == io::ErrorKind::NotFound && !port.starts_with('/') && port.contains(':') => {
            open_tcp(port, timeout)
        }
        Err(e) => Err(anyhow!("{}: no such serial port or socket (nor a host:port): {e}", show(path))),
    }
}

/// A serial port (or pty) at `port`.
fn open_serial(port: &str, baud: u32, timeout: Duration) -> Result<Link> {
    let named = || show(Path::new(port));
    let device = serialport::new(port, baud)
        .data_bits(serialport::DataBits::Eight)
        .parity(serialport::Parity::None)
        .stop_bits(serialport::StopBits::One)
        .flow_control(serialport::FlowControl::None)
        .timeout(timeout)
        .open_native()
        .with_context(|| format!("{}: cannot open the serial port", named()))?;
    let reader = device.try_clone_native().with_context(|| format!("{}: cannot open the serial port", named()))?;
    Ok(Link {
        reader: Box::new(reader),
        writer: Box::new(device),
        what: format!("serial port {} at {baud} baud", named()),
        timeout,
    })
}

/// A TCP connection to `port` (`host:port`).
fn open_tcp(port: &str, timeout: Duration) -> Result<Link> {
    let addrs: Vec<_> = port.to_socket_addrs().with_context(|| format!("{port}: not a host:port"))?.collect();
    let mut last = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(stream) => {
                stream.set_read_timeout(Some(timeout))?;
                stream.set_write_timeout(Some(timeout))?;
                stream.set_nodelay(true)?;
                let reader = stream.try_clone()?;
                return Ok(Link {
                    reader: Box::new(reader),
                    writer: Box::new(stream),
                    what: format!("TCP {addr}"),
                    timeout,
                });
            }
            Err(e) => last = Some(e),
        }
    }
    match last {
        Some(e) => Err(anyhow!("{port}: cannot connect: {e}")),
        None => Err(anyhow!("{port}: the name has no address")),
    }
}

/// Whether a read or write error is the link's timeout running out.
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock)
}
