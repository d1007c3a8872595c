#!/usr/bin/env bash
# The demo. Sets up .venv (the package with JupyterLab; the JupyterLab extension is built on the
# first install, which needs Node.js), then:
#   bash scripts/demo.sh             JupyterLab on examples/ with the Pipelines workspace open
#                                    and the example template beside it; prints the URL to open
#                                    (Ctrl-C stops it). PRODEX_DEMO_PORT picks the port (8888).
#   bash scripts/demo.sh --terminal  the demo pipeline end to end in this terminal: gate prompts,
#                                    the decisions taken, the outputs with their derivations.
#                                    Extra arguments go to `prodex demo`.
# The run store is examples/.prodex in JupyterLab, .prodex with --terminal; PRODEX_HOME names
# another folder, PRODEX_STORE=postgresql://... a team's PostgreSQL store (its artifacts folder in
# PRODEX_ARTIFACTS).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
python="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$python" -m venv .venv

# Installs the package once (editable: later Python changes need no reinstall), and again only
# when what the install reads changed since: pip's no-op install costs seconds. $1: what to
# install; $2: a file that install puts in .venv (the [lab] extra's JupyterLab); the rest: what it
# is built from: pyproject.toml (the dependencies), and for JupyterLab the lab extension (built
# from labextension/ into prodex_jupyter/labextension, copied into .venv/share) and the server
# config (copied into .venv/etc).
install() {
    local spec="$1" provides="$2"
    shift 2
    local installed=(.venv/lib/python*/site-packages/prodex_jupyter-*.dist-info)
    if [ ! -e "$provides" ] || [ ! -d "${installed[0]}" ] || [ -n "$(find "$@" \
        -path labextension/node_modules -prune -o -newer "${installed[0]}" -print -quit)" ]; then
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec"
    fi
}

if [ "${1:-}" = "--terminal" ]; then
    shift
    install . .venv/bin/prodex pyproject.toml
    exec .venv/bin/prodex --store "${PRODEX_STORE:-${PRODEX_HOME:-.prodex}}" demo "$@"
fi

install '.[lab]' .venv/bin/jupyter-lab \
    pyproject.toml labextension jupyter-config prodex_jupyter/labextension

port="${PRODEX_DEMO_PORT:-8888}"
token="$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(16))')"
state="$repo/.venv/prodex-demo"          # JupyterLab's workspaces and settings for the demo
mkdir -p "$state/workspaces" "$state/settings/@jupyterlab/apputils-extension"
# The demo's workspace: the Pipelines side panel open, the example template in the editor.
cat > "$state/prodex-demo.json" <<'JSON'
{
  "data": {
    "layout-restorer:data": {
      "main": {
        "dock": {"type": "tab-area", "currentIndex": 0, "widgets": ["editor:plant_kpis.prodex.yaml"]},
        "current": "editor:plant_kpis.prodex.yaml"
      },
      "left": {"collapsed": false, "visible": true, "current": "prodex-pipelines", "widgets": ["filebrowser", "prodex-pipelines"]},
      "right": {"collapsed": true, "visible": true, "widgets": []}
    },
    "editor:plant_kpis.prodex.yaml": {"data": {"path": "plant_kpis.prodex.yaml", "factory": "Editor"}}
  },
  "metadata": {"id": "prodex-demo"}
}
JSON
.venv/bin/jupyter lab workspaces import --name=prodex-demo \
    --LabWorkspaceImportApp.workspaces_dir="$state/workspaces" "$state/prodex-demo.json" >/dev/null
# No news/update toast over the demo.
echo '{"fetchNews": "false", "checkForUpdates": false}' \
    > "$state/settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings"

args=(
    --ServerApp.root_dir="$repo/examples"
    --ServerApp.ip=127.0.0.1
    --ServerApp.port="$port"
    --ServerApp.port_retries=0
    --IdentityProvider.token="$token"
    --LabApp.workspaces_dir="$state/workspaces"
    --LabApp.user_settings_dir="$state/settings"
    --ServerApp.default_url=/lab/workspaces/prodex-demo
    --no-browser
)
[ "$(id -u)" = 0 ] && args+=(--allow-root)
export PRODEX_HOME="${PRODEX_HOME:-$repo/examples/.prodex}"

url="http://127.0.0.1:$port/lab/workspaces/prodex-demo?token=$token"
echo "prodex demo: JupyterLab on examples/ with the Pipelines workspace (Ctrl-C stops it)"
echo "prodex demo: open $url"
exec .venv/bin/jupyter lab "${args[@]}"
