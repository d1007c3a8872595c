#!/usr/bin/env bash
# Set up and run the demo pipeline end to end in this terminal: gate prompts, the decisions taken,
# and the output values with their derivations. Extra arguments go to `prodex demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
exec .venv/bin/prodex --store .prodex demo "$@"
