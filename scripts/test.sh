#!/usr/bin/env bash
# Set up and run every test: a venv with the package and its test extras, Chromium for the browser
# tests, PostgreSQL server binaries for the PostgreSQL store tests (a throwaway server they start),
# then lint (ruff), layer contracts (import-linter), unit/widget/notebook/browser tests.
# Extra arguments run one pytest call with them instead (e.g. `bash scripts/test.sh -m "not browser"`).
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
pytest=(.venv/bin/python -m pytest -p no:cacheprovider)
if [ "$#" -gt 0 ]; then
    echo "== pytest $*"
    "${pytest[@]}" tests notebooks --nbval-lax "$@"
    exit
fi
# Everything but the browser tests on two workers (pytest-xdist), each file's tests (a notebook's
# cells) on one worker; then the browser tests in one process: they share one JupyterLab server
# and one Chromium (session fixtures), which are not made to run twice side by side.
echo "== pytest: unit, widget, server, store and notebook tests on two workers"
"${pytest[@]}" tests notebooks --nbval-lax -m "not browser" -n 2 --dist loadfile --durations=15
echo "== pytest: browser tests (JupyterLab in headless Chromium)"
"${pytest[@]}" tests/browser -m browser --durations=10
