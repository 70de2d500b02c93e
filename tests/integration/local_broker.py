"""Helpers for tests that run a mosquitto of their own on a free local port."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time

import pytest

HOST = "127.0.0.1"


def require_binary(binary: str, why: str) -> str:
    """The path of ``binary``; skips the test without it (fails on CI, where it must exist)."""
    path = shutil.which(binary)
    if path is None:
        message = f"{binary} binary not found: {why}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    """A TCP port nobody listens on at the moment."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout_s: float = 5.0) -> None:
    """Return once ``process`` listens on ``port``; fail the test if it exits or times out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"mosquitto exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.2):
            return
        time.sleep(0.05)
    pytest.fail(f"mosquitto did not listen on {HOST}:{port} within {timeout_s} s")
