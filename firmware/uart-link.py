#!/usr/bin/env python3
"""The host end of the firmware's UART0 link (standard library only).

Listens on a Unix socket, starts COMMAND (normally `qemu-run.sh ELF`) with
UART_SOCKET set to it, so QEMU connects UART0 there; sends the given streams
back to back (all of them, or only the first --cut bytes, after which the
link stays open and silent); collects every byte the firmware sends back
until QEMU exits; writes them to --out and exits with COMMAND's status.

    uart-link.py --out uart0.bin [--send FILE]... [--cut N] -- COMMAND...
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading

# How long to wait for QEMU to connect to the socket.
CONNECT_TIMEOUT_S = 60


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="file for the bytes the firmware sends")
    parser.add_argument("--send", action="append", default=[], help="a stream file to send (repeatable, in order)")
    parser.add_argument("--cut", type=int, help="send only this many bytes, then stay silent")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND...")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no COMMAND given")

    payload = b"".join(open(path, "rb").read() for path in args.send)
    if args.cut is not None:
        payload = payload[: args.cut]

    with tempfile.TemporaryDirectory(prefix="vqtans-link-") as tmp:
        path = os.path.join(tmp, "uart0.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(1)
        child = subprocess.Popen(command, env=dict(os.environ, UART_SOCKET=path))
        server.settimeout(1.0)
        conn = None
        for _ in range(CONNECT_TIMEOUT_S):
            try:
                conn, _ = server.accept()
                break
            except socket.timeout:
                if child.poll() is not None:
                    break
        server.close()
        received = bytearray()
        if conn is not None:
            conn.settimeout(None)
            sender = threading.Thread(target=send, args=(conn, payload), daemon=True)
            sender.start()
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    break
                if not chunk:
                    break
                received += chunk
            conn.close()
        else:
            print("uart-link.py: QEMU did not connect to the UART socket", file=sys.stderr)
        status = child.wait()
    with open(args.out, "wb") as f:
        f.write(received)
    sys.exit(status)


def send(conn, payload):
    """Sends `payload`, then keeps the link open and silent (until QEMU exits)."""
    try:
        conn.sendall(payload)
    except OSError:
        pass  # QEMU exited (e.g. the firmware stopped at an error) before taking it all.


if __name__ == "__main__":
    main()
