"""Which backend a store location names, and how to show it: without importing a driver."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def is_postgres_url(where: object) -> bool:
    return isinstance(where, str) and where.startswith(("postgresql://", "postgres://"))


def redacted(url: str) -> str:
    """The URL without its password, for messages and `store.root` (libpq also reads passwords
    from PGPASSWORD and ~/.pgpass, which keep them out of URLs altogether)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
