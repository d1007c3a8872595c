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

    def temp_path(self) -> Path:
        """A new empty file in the folder, for an artifact written as it is computed (too large
        to hold as bytes); `put_file` then names it by its hash."""
        fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".tmp")
        os.close(fd)
        return Path(tmp)

    def put_file(self, tmp: Path, sha256: str) -> None:
        """Adopt `tmp` (from `temp_path`, whose content hash is `sha256`) as that artifact;
        atomically, and once: a file already there stays."""
        target = self.path(sha256)
        if target.exists():
            tmp.unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)

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


ROW_GROUP_ROWS = 1024 * 1024  # pyarrow's default, spelled out: a source streamed row group by
# row group (runtime/source_pass.py) must store the very bytes this gives for the whole table
PARQUET_OPTIONS = {"compression": "zstd"}


def encode_table(table: pa.Table) -> bytes:
    """A table as the Parquet bytes stored (and hashed) for it."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=ROW_GROUP_ROWS, **PARQUET_OPTIONS)
    return buffer.getvalue()
