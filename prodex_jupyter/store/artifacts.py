"""Produced tables as Parquet files named by their content hash, so the event log can chain them."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


class ArtifactStore:
    """A folder of `<sha256>.parquet` files; writing the same table twice stores it once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.parquet"

    def put_bytes(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, target)  # atomic: a reader never sees half a file
            except BaseException:
                Path(tmp).unlink(missing_ok=True)  # a full disk must not keep half a file
                raise
        return sha

    def get_table(self, sha256: str) -> pa.Table:
        return pq.read_table(self.path(sha256))

    def hash_of(self, sha256: str) -> str | None:
        """The hash of what is on disk now (None when missing): verify compares it to the name."""
        target = self.path(sha256)
        if not target.exists():
            return None
        return file_sha256(target)

    def remove(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def encode_table(table: pa.Table) -> bytes:
    """A table as the Parquet bytes stored (and hashed) for it."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()
