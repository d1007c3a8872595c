"""Which backend a store location names, and how to show a location: without importing a driver,
and without its secrets."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit, urlunsplit

# query parameters that carry credentials (pyarrow's S3 and GCS URIs, libpq's URLs)
_SECRET = re.compile(r"(?i)secret|password|passwd|token|key|credential|session")


def is_postgres_url(where: object) -> bool:
    return isinstance(where, str) and where.startswith(("postgresql://", "postgres://"))


def redacted(url: str) -> str:
    """The URL without its password or secret query parameters, for messages and `store.root`
    (libpq also reads passwords from PGPASSWORD and ~/.pgpass, and pyarrow's S3 filesystem its
    keys from AWS_* variables and ~/.aws, which keep them out of URLs altogether)."""
    parts = urlsplit(url)
    if parts.password is not None:
        host = parts.netloc.rsplit("@", 1)[-1]
        parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}")
    if parts.query and _SECRET.search(parts.query):
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        parts = parts._replace(
            query="&".join(f"{k}={'***' if _SECRET.search(k) else v}" for k, v in pairs)
        )
    return urlunsplit(parts)


def scrubbed(text: str, url: str) -> str:
    """`text` (an error message, say) with the URL's secrets taken out wherever they appear."""
    text = text.replace(url, redacted(url))
    parts = urlsplit(url)
    secrets = [parts.password or ""]
    secrets += [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if _SECRET.search(k)]
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
