#!/usr/bin/env bash
# Set up and run every test: a venv with the package and its test extras, Chromium for the browser
# tests, PostgreSQL server binaries for the PostgreSQL store tests (a throwaway server they start),
# then lint (ruff), layer contracts (import-linter), unit/widget/notebook/browser tests.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -m "not browser"`).
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$python" -m venv .venv
# The install also builds the JupyterLab extension (labextension/, `jlpm install` + `jlpm build:prod`
# through the hatch-jupyter-builder hook) when it is missing or older than labextension/src.
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
bash scripts/ensure-chromium.sh
bash scripts/ensure-postgresql.sh
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== import-linter (layers point down only)"
.venv/bin/lint-imports
echo "== pytest"
.venv/bin/python -m pytest tests notebooks --nbval-lax -p no:cacheprovider "$@"
