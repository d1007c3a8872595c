#!/usr/bin/env bash
# Make sure Debian's Chromium is installed at /usr/bin/chromium (used by tests/browser).
# Idempotent: does nothing when it is already there. Installs with apt-get otherwise
# (apt-get update first). Never runs `playwright install`. Must run as root (or via sudo).
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    # `chromium --version` prints a harmless shell warning from Debian's wrapper on some
    # machines; keep only the version line.
    version="$("$CHROMIUM" --version 2>/dev/null | head -n1 || true)"
    echo "ensure-chromium: already installed: ${version:-$CHROMIUM} (nothing to do)"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "ensure-chromium: $CHROMIUM is missing and this is not root (no sudo either)." >&2
        echo "ensure-chromium: run as root: apt-get update && apt-get install -y chromium" >&2
        exit 1
    fi
else
    SUDO=()
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: $CHROMIUM is missing and apt-get is not available (not Debian?)." >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "ensure-chromium: $CHROMIUM missing; running apt-get update"
"${SUDO[@]}" apt-get update -qq
echo "ensure-chromium: installing chromium with apt-get"
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null

if [ ! -x "$CHROMIUM" ]; then
    echo "ensure-chromium: apt-get finished but $CHROMIUM is still missing" >&2
    exit 1
fi
echo "ensure-chromium: installed: $("$CHROMIUM" --version 2>/dev/null | head -n1 || true)"
