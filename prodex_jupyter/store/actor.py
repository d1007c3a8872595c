"""Who acts (decides a gate, starts or deletes a run) when the caller does not say.

One rule for every record that names a person, kept in the store layer because a tombstone names
its deleter too. A caller that knows better (the Jupyter server's authenticated user) passes the
name itself.
"""

from __future__ import annotations

import getpass
import os


def current_actor() -> str:
    """$PRODEX_USER, else the OS user.

    $PRODEX_USER is a convenience anyone can set; a team store that relies on deciders or four-eyes
    gates sets PRODEX_TRUST_USER_ENV=0, and then only the OS user counts."""
    trusted = os.environ.get("PRODEX_TRUST_USER_ENV", "1").strip().lower() not in ("0", "false")
    try:
        return (trusted and os.environ.get("PRODEX_USER")) or getpass.getuser()
    except Exception:  # no user name in some containers
        return "unknown"
