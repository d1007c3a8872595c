"""Produced tables as Parquet files named by their content hash, so the event log can chain them.

Where they live: a folder (beside an SQLite store by default), or any URI pyarrow's filesystems
open (`file:///...`, `s3://bucket/prefix?endpoint_override=...`, `gs://...`, `hdfs://...`): for
a team store `PRODEX_ARTIFACTS`, which every member reaches. Every write, read, existence check
and removal goes through that pyarrow FileSystem. An artifact appears whole or not at all: on a
filesystem with folders it is written under a temporary name and renamed; an object store (S3,
GCS) publishes an upload only once it is complete. The claims of store/claims.py need no more
than that and read-after-write consistency, which all of them give.

Some readers need a file on this machine: DuckDB scanning a source's Parquet lazily (the SQL
sandbox, which may read one folder only), compare, the checker's second look at a stored source.
`root` is that folder and `path(sha)` the artifact in it. For a folder store it is the store
itself. Behind a remote URI it is this process's folder of local copies (under TMPDIR, removed
when the process ends): a source the process stored itself is copied there as it is uploaded,
anything else is fetched on first use. Nothing else of the store is ever written locally.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import io
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from .urls import redacted, scrubbed

_DIRECT = ("s3", "gcs")  # object stores: an upload is published whole when it completes
_CHUNK = 1 << 20


class ArtifactsUnreachable(ValueError):
    """The artifacts location cannot be opened: says which (never its secrets) and why."""


class ArtifactStore:
    """`<sha256>.parquet` files under a folder or a URI; writing the same bytes twice stores them
    once."""

    def __init__(self, location: str | Path) -> None:
        text = str(location)
        if "://" in text:
            self.fs, base = _open_uri(text)
            self.where = redacted(text)
        else:
            self.fs, base = pafs.LocalFileSystem(), str(Path(text).resolve())
            self.where = base
        self.base = base.rstrip("/") or base
        self.remote = not isinstance(self.fs, pafs.LocalFileSystem)
        self._direct = self.fs.type_name in _DIRECT
        if "://" in text:
            _reach(self.fs, self.base, text)
        self.root = _local_copies(text) if self.remote else Path(self.base)
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"ArtifactStore({self.where!r})"

    # ------------------------------------------------------------------ where
    def key(self, sha256: str) -> str:
        """The artifact's path on its filesystem."""
        return f"{self.base}/{sha256[:2]}/{sha256}.parquet"

    def location(self, sha256: str) -> str:
        """The artifact as a person finds it: a file path, or the URI's (without secrets)."""
        if not self.remote:
            return self.key(sha256)
        return f"{self.where.split('?', 1)[0].rstrip('/')}/{sha256[:2]}/{sha256}.parquet"

    def path(self, sha256: str) -> Path:
        """The artifact as a file on this machine (see the module docstring): for a remote store
        its local copy, fetched first when missing. A missing artifact's path does not exist."""
        local = self.root / sha256[:2] / f"{sha256}.parquet"
        if self.remote and not local.exists():
            self._fetch(sha256, local)
        return local

    # ---------------------------------------------------------------- writing
    def put_bytes(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if not self.exists(sha):
            self._publish(self.key(sha), lambda out: out.write(data))
        return sha

    def temp_path(self) -> Path:
        """A new empty file on this machine, for an artifact written as it is computed (too large
        to hold as bytes); `put_file` then stores it under its hash."""
        fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".tmp")
        os.close(fd)
        return Path(tmp)

    def put_file(self, tmp: Path, sha256: str) -> None:
        """Adopt `tmp` (from `temp_path`, whose content hash is `sha256`) as that artifact,
        once: an artifact already there stays. Behind a remote URI it is uploaded, and kept as
        this process's local copy."""
        local = self.root / sha256[:2] / f"{sha256}.parquet"
        try:
            if not self.exists(sha256):
                if not self.remote:  # a rename on the same disk: a reader never sees half
                    self.fs.create_dir(str(local.parent), recursive=True)
                    self.fs.move(str(tmp), self.key(sha256))
                    return
                self._publish(self.key(sha256), lambda out: _copy_from(tmp, out))
            if self.remote and not local.exists():
                local.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, local)
        finally:
            tmp.unlink(missing_ok=True)

    def remove(self, sha256: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.delete_file(self.key(sha256))
        if self.remote:
            (self.root / sha256[:2] / f"{sha256}.parquet").unlink(missing_ok=True)

    # ---------------------------------------------------------------- reading
    def exists(self, sha256: str) -> bool:
        return self.fs.get_file_info(self.key(sha256)).type == pafs.FileType.File

    def read_bytes(self, sha256: str) -> bytes:
        """The artifact's bytes (FileNotFoundError when it is missing)."""
        with self.fs.open_input_stream(self.key(sha256)) as f:
            return f.readall()

    def get_table(self, sha256: str) -> pa.Table:
        return pq.read_table(self.key(sha256), filesystem=self.fs)

    def hash_of(self, sha256: str) -> str | None:
        """The hash of what is stored now (None when missing): verify compares it to the name."""
        digest = hashlib.sha256()
        try:
            with self.fs.open_input_stream(self.key(sha256)) as f:
                while block := f.read(_CHUNK):
                    digest.update(block)
        except FileNotFoundError:
            return None
        return digest.hexdigest()

    # --------------------------------------------------------------- internal
    def _publish(self, key: str, write: Callable[[pa.NativeFile], object]) -> None:
        """Write `key` whole or not at all."""
        if self._direct:
            with self.fs.open_output_stream(key) as out:
                write(out)
            return
        self.fs.create_dir(key.rsplit("/", 1)[0], recursive=True)
        tmp = f"{key}.{secrets.token_hex(6)}.tmp"
        try:
            with self.fs.open_output_stream(tmp) as out:
                write(out)
            self.fs.move(tmp, key)
        except BaseException:
            with contextlib.suppress(OSError):  # a full disk must not keep half a file
                self.fs.delete_file(tmp)
            raise

    def _fetch(self, sha256: str, local: Path) -> None:
        local.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=local.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out, self.fs.open_input_stream(self.key(sha256)) as f:
                while block := f.read(_CHUNK):
                    out.write(block)
            os.replace(tmp, local)
        except FileNotFoundError:
            pass  # missing from the store: so is its path
        finally:
            Path(tmp).unlink(missing_ok=True)


def _open_uri(uri: str) -> tuple[pafs.FileSystem, str]:
    try:
        return pafs.FileSystem.from_uri(uri)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ArtifactsUnreachable(_cannot(uri, exc, "pyarrow cannot open it")) from None


def _reach(fs: pafs.FileSystem, base: str, uri: str) -> None:
    """Fail at once, and clearly, when the location cannot be reached or made."""
    try:
        if fs.get_file_info(base).type == pafs.FileType.NotFound:
            fs.create_dir(base, recursive=True)
    except (pa.ArrowException, OSError) as exc:
        raise ArtifactsUnreachable(_cannot(uri, exc, "cannot reach it")) from None


def _cannot(uri: str, exc: BaseException, what: str) -> str:
    reason = scrubbed(str(exc).strip().splitlines()[0] if str(exc).strip() else "", uri)
    return (
        f"the artifacts location {redacted(uri)} (PRODEX_ARTIFACTS, or artifacts=): {what} "
        f"({type(exc).__name__}: {reason}). It must be a folder or a URI pyarrow's filesystems "
        "open: file:///path, s3://bucket/prefix, gs://bucket/prefix, hdfs://host:port/path"
    )


def _copy_from(tmp: Path, out: pa.NativeFile) -> None:
    with open(tmp, "rb") as f:
        while block := f.read(_CHUNK):
            out.write(block)


_COPIES: dict[str, Path] = {}
_COPIES_LOCK = threading.Lock()


def _local_copies(uri: str) -> Path:
    """This process's folder of local copies of a remote store's artifacts, one per URI (every
    store opened on it shares it, and so does the SQL sandbox reading it); gone at exit."""
    with _COPIES_LOCK:
        if uri not in _COPIES:
            folder = Path(tempfile.mkdtemp(prefix="prodex-artifacts-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            _COPIES[uri] = folder
        return _COPIES[uri]


def file_sha256(path: str | Path, chunk: int = _CHUNK) -> str:
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
