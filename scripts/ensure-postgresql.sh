#!/usr/bin/env bash
# Make sure Debian's PostgreSQL server binaries are installed (/usr/lib/postgresql/*/bin/initdb):
# the tests start a throwaway server of their own (tests/postgres_server.py). Idempotent: does
# nothing when they are there. Installs with apt-get otherwise. Must run as root (or via sudo).
set -euo pipefail

if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    echo "ensure-postgresql: already installed: $(ls -d /usr/lib/postgresql/*/bin/initdb | tail -n1)"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "ensure-postgresql: the server binaries are missing and this is not root (no sudo)." >&2
        echo "ensure-postgresql: run as root: apt-get update && apt-get install -y postgresql" >&2
        exit 1
    fi
else
    SUDO=()
fi

export DEBIAN_FRONTEND=noninteractive
echo "ensure-postgresql: server binaries missing; running apt-get update"
"${SUDO[@]}" apt-get update -qq
echo "ensure-postgresql: installing postgresql with apt-get"
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends postgresql >/dev/null
# Debian's package starts a cluster of its own; the tests do not use it.
"${SUDO[@]}" service postgresql stop >/dev/null 2>&1 || true

if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    echo "ensure-postgresql: apt-get finished but no /usr/lib/postgresql/*/bin/initdb" >&2
    exit 1
fi
echo "ensure-postgresql: installed: $(ls -d /usr/lib/postgresql/*/bin/initdb | tail -n1)"
