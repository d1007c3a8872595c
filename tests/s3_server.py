"""A throwaway S3 endpoint for the tests: moto's server mode (PyPI `moto[server]`), in a process
of its own on a free loopback port, stopped when the session ends.

It is an S3 emulator, not an object store product: the only S3-compatible server that installs
from PyPI or Debian here (MinIO, SeaweedFS and Garage are in neither; Debian's radosgw needs a
Ceph cluster). pyarrow's own S3FileSystem talks to it over HTTP exactly as to any S3 endpoint,
so what is tested is prodex's use of a pyarrow filesystem behind an `s3://` URI.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

ACCESS_KEY = "prodex-tests"  # moto accepts any credentials; a URI carries them like a real one


@dataclass(frozen=True)
class S3Server:
    port: int
    secret: str

    def uri(self, bucket: str | None = None, prefix: str = "artifacts") -> str:
        """An `s3://` URI pyarrow opens: credentials in it, a new bucket created on first use."""
        bucket = bucket or f"prodex-{secrets.token_hex(4)}"
        return (
            f"s3://{ACCESS_KEY}:{quote(self.secret, safe='')}@{bucket}/{prefix}"
            f"?endpoint_override=127.0.0.1:{self.port}&scheme=http&region=us-east-1"
            "&allow_bucket_creation=true"
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_s3() -> Iterator[S3Server]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"the S3 test server did not start on port {port}")
            time.sleep(0.1)
        yield S3Server(port, "s3cret-" + secrets.token_hex(8))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
