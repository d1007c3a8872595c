"""Resume in another process works for every python node (issue 9 §2).

A run stops at a gate in one process (a `__main__` script, a real notebook kernel); a fresh process
(`prodex resume`, with none of the starting process's sys.path) finishes it. Function nodes are
recorded as `module:qualname` (imported again, code digest checked) or captured with cloudpickle
(a content-hashed artifact named in the run record); a function that cannot be captured refuses
the run at start. A node that failed only because of the resuming environment can be retried.
On both backends (tests/conftest.py): an SQLite folder and a PostgreSQL database.
"""

from __future__ import annotations

import hashlib
import math
import os
import queue
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import prodex_jupyter as px
from prodex_jupyter.store import RunStore, verify_run

REPO = Path(__file__).resolve().parents[1]
PRODEX = [sys.executable, "-m", "prodex_jupyter.cli.main"]

pytestmark = pytest.mark.usefixtures("store_env")  # PRODEX_STORE: the test's store, either backend


def where() -> str:
    """The test's store, as store_env set it: a folder or a PostgreSQL URL."""
    return os.environ["PRODEX_STORE"]


CLEAN = "- required columns: a, b\n- at least 1 rows"

HELPERS = """
def _offset():  # a helper beside the node's function, in the same module
    return 7


def module_fn(t):
    return float(t["a"].sum()) + _offset()
"""

START = """
import sys

import numpy as np

import nb_helpers
import prodex_jupyter as px

SCALE = 3  # a module constant


def helper(x):  # a helper in the same (__main__) module
    return x * 2


def make_adder(k):
    def add_k(t):  # a closure variable
        return float(t["a"].sum()) + k

    return add_k


tpl = px.Template("everywhere")
tpl.source("t", sys.argv[2], gate={"gate_id": "g", "name": "G"})


@tpl.python("uses_helper")
def uses_helper(t):
    return helper(float(t["a"].sum()))


@tpl.python("uses_np")
def uses_np(t):
    return float(np.sqrt((t["a"] ** 2).sum()))


@tpl.python("uses_constant")
def uses_constant(t):
    return float(t["a"].sum()) * SCALE


tpl.python_node("uses_closure", function=make_adder(100))
tpl.python_node("module_fn", function=nb_helpers.module_fn)
run = tpl.run(store=sys.argv[1])
run.wait(timeout=60)  # the gate waits for a person: this process exits, like a closed kernel
print(run.id, tpl.fingerprint, run.gates["g"].status, flush=True)
"""

A = list(range(40))
EXPECTED = {
    "uses_helper": 2.0 * sum(A),
    "uses_np": math.sqrt(sum(a * a for a in A)),
    "uses_constant": 3.0 * sum(A),
    "uses_closure": sum(A) + 100.0,
    "module_fn": sum(A) + 7.0,
}


def _data(folder: Path) -> Path:
    path = folder / "t.csv"
    path.write_text("a,b\n" + "".join(f"{a},{a % 3}\n" for a in A))
    return path


def _env(**extra: str) -> dict[str, str]:
    """A process that has the package and nothing of the test's folders on its path."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, "PYTHONPATH": str(REPO), "PRODEX_USER": "resumer", **extra}


def prodex(store: Path | str, *args: str, cwd: Path, env: dict[str, str] | None = None):
    return subprocess.run(
        [*PRODEX, "--store", str(store), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env or _env(),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def started(tmp_path: Path) -> tuple[str, str, str]:
    """A `__main__` script ran the five kinds of node up to the gate and exited."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "nb_helpers.py").write_text(HELPERS)
    (work / "start.py").write_text(START)
    store = where()
    out = subprocess.run(
        [sys.executable, "start.py", str(store), str(_data(work))],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        cwd=work,
    )
    assert out.returncode == 0, out.stderr
    run_id, fingerprint, gate = out.stdout.split()
    assert gate == "pending"
    return store, run_id, fingerprint


def test_every_kind_of_python_node_resumes_in_a_fresh_process(started, tmp_path):
    store_dir, run_id, fingerprint = started
    elsewhere = tmp_path / "elsewhere"  # not the script's folder: nb_helpers is not importable
    elsewhere.mkdir()
    out = prodex(store_dir, "confirm", run_id, "g", cwd=elsewhere)
    assert out.returncode == 0, out.stderr
    out = prodex(store_dir, "resume", run_id, cwd=elsewhere)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "NameError" not in out.stdout

    store = RunStore(store_dir)
    state = store.state(run_id)
    assert state.status == "completed", out.stdout
    for node_id, value in EXPECTED.items():
        assert state.results[node_id].value == pytest.approx(value), node_id
    assert state.fingerprint == fingerprint  # the template's, unchanged by how functions travel
    assert verify_run(store, run_id) == []


def test_the_record_names_how_each_function_is_found_again(started, tmp_path):
    store_dir, run_id, fingerprint = started
    store = RunStore(store_dir)
    created = store.events(run_id)[0].event
    functions = created.functions
    assert functions["module_fn"]["how"] == "import"
    assert functions["module_fn"]["ref"] == "nb_helpers:module_fn"
    for node_id in ("uses_helper", "uses_np", "uses_constant", "uses_closure"):
        record = functions[node_id]
        assert record["how"] == "capture", node_id
        data = store.artifacts.path(record["artifact"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == record["artifact"]  # content-hashed
    # the recorded code is the function's text, as before: shown in the drawer and fingerprinted
    nodes = {n["id"]: n for n in created.template["nodes"]}
    assert 'return helper(float(t["a"].sum()))' in nodes["uses_helper"]["code"]
    # the fingerprint is stable: a second start of the same script records the same one
    work = tmp_path / "work"
    again = subprocess.run(
        [sys.executable, "start.py", str(store_dir), str(work / "t.csv")],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        cwd=work,
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.split()[1] == fingerprint


def test_a_changed_capture_is_named_by_verify_and_refused_on_resume(started, tmp_path):
    store_dir, run_id, _ = started
    store = RunStore(store_dir)
    sha = store.events(run_id)[0].event.functions["uses_np"]["artifact"]
    path = store.artifacts.path(sha)
    path.write_bytes(path.read_bytes() + b"tampered")
    problems = [str(p) for p in verify_run(store, run_id)]
    assert any(
        f"artifact {sha[:12]} was changed (captured function of node uses_np)" in p
        for p in problems
    ), problems
    out = prodex(store_dir, "confirm", run_id, "g", "--resume", cwd=tmp_path)
    assert out.returncode == 2
    assert f"node 'uses_np': the captured function (artifact {sha[:12]}) was changed" in out.stderr


def test_a_module_function_whose_code_changed_is_refused_on_resume(started, tmp_path):
    store_dir, run_id, _ = started
    work = tmp_path / "work"
    (work / "nb_helpers.py").write_text(HELPERS.replace("+ _offset()", "- _offset()"))
    out = prodex(store_dir, "confirm", run_id, "g", "--resume", cwd=work)
    assert out.returncode == 2, out.stdout
    assert "node 'module_fn'" in out.stderr
    assert "the code of nb_helpers:module_fn changed since the run started" in out.stderr
    assert RunStore(store_dir).leases.holder(run_id) is None  # nothing was taken
    assert "module_fn" not in RunStore(store_dir).state(run_id).results


def test_a_function_that_cannot_be_captured_is_refused_at_start(tmp_path, store):
    lock = threading.Lock()
    tpl = px.Template("locked", base_dir=tmp_path)
    tpl.source("t", _data(tmp_path).name, gate={"gate_id": "g", "name": "G"})

    @tpl.python("guarded")
    def guarded(t):
        with lock:
            return len(t)

    with pytest.raises(px.TemplateError) as refused:
        tpl.run(store=store)
    message = str(refused.value)
    assert "node 'guarded'" in message and "cannot be saved" in message
    assert "move" in message and "into a module" in message and "module:function" in message
    assert store.run_ids() == []  # refused before anything was recorded


KERNEL_CELLS = [
    "import prodex_jupyter as px\npx.widgets.auto_display = False\n"
    "def helper(n):  # defined in one cell\n    return n + 1\n",
    textwrap.dedent(
        """
        tpl = px.Template("from_cells")
        tpl.source("t", {data!r}, gate={{"gate_id": "g", "name": "G"}})

        @tpl.python("counted")
        def counted(t):  # uses a helper from another cell
            return helper(len(t))

        run = tpl.run(store={store!r})
        prompt = await run.next_prompt()
        print("RUN", run.id, prompt.gate_ids[0])
        """
    ),
]


def _execute(client, code: str, timeout: float = 60) -> str:
    msg_id = client.execute(code)
    printed = []
    while True:
        try:
            msg = client.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the kernel did not answer: {code[:60]!r}") from None
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            printed.append(content["text"])
        elif kind == "error":
            raise AssertionError("\n".join(content["traceback"]))
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(printed)


def test_a_run_started_in_a_notebook_kernel_resumes_from_the_command_line(tmp_path):
    from jupyter_client.manager import KernelManager

    work = tmp_path / "nb"
    work.mkdir()
    data, store_dir = _data(work), where()
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(work), env=_env())
    try:
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        _execute(client, KERNEL_CELLS[0])
        printed = _execute(client, KERNEL_CELLS[1].format(data=str(data), store=str(store_dir)))
        client.stop_channels()
    finally:
        manager.shutdown_kernel(now=True)  # the kernel is gone, as after a restart
    _, run_id, gate = printed.split()
    assert gate == "g"
    out = prodex(store_dir, "confirm", run_id, "g", "--resume", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    state = RunStore(store_dir).state(run_id)
    assert state.status == "completed", out.stdout
    assert state.results["counted"].value == len(A) + 1


RETRY_NODES = """
def needs_plugin(t):
    import prodex_plugin  # importable only where the plugin folder is on the path

    return prodex_plugin.scale(len(t))
"""

RETRY_START = """
import sys

import prodex_jupyter as px
import retry_nodes

tpl = px.Template("retried")
tpl.source("t", sys.argv[2], gate={"gate_id": "g", "name": "G", "instructions": sys.argv[3]})
tpl.python_node("plugged", function=retry_nodes.needs_plugin)
tpl.sql("after", "SELECT plugged * 2 AS doubled FROM plugged")
run = tpl.run(store=sys.argv[1], policy=px.confirm_high)
run.wait(timeout=60)
print(run.id, run.status, flush=True)
"""


def test_a_node_failed_by_its_environment_is_retried_keeping_the_failure(tmp_path):
    work, plugins = tmp_path / "work", tmp_path / "plugins"
    work.mkdir()
    plugins.mkdir()
    (work / "retry_nodes.py").write_text(RETRY_NODES)
    (work / "start.py").write_text(RETRY_START)
    (plugins / "prodex_plugin.py").write_text("def scale(n):\n    return n * 10\n")
    store_dir = where()
    out = subprocess.run(
        [sys.executable, "start.py", str(store_dir), str(_data(work)), CLEAN],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        cwd=work,
    )
    assert out.returncode == 0, out.stderr
    run_id, status = out.stdout.split()
    assert status == "failed"
    store = RunStore(store_dir)
    failed_error = store.state(run_id).nodes["plugged"].error
    assert "ModuleNotFoundError" in failed_error

    out = prodex(store_dir, "resume", run_id, cwd=work)  # without --retry-failed: nothing to do
    assert out.returncode == 1 and "nothing to resume" in out.stdout, out.stdout + out.stderr

    with_plugin = _env(PYTHONPATH=os.pathsep.join([str(REPO), str(plugins)]))
    out = prodex(store_dir, "resume", run_id, "--retry-failed", cwd=work, env=with_plugin)
    assert out.returncode == 0, out.stdout + out.stderr
    state = store.state(run_id)
    assert state.status == "completed"
    assert state.results["plugged"].value == 400
    assert state.results["after"].table()["doubled"].tolist() == [800]
    node = state.nodes["plugged"]
    assert node.attempt == 2 and node.failures == (failed_error,)
    kinds = [(e.kind, getattr(e.event, "node_id", None)) for e in store.events(run_id)]
    failed_at = kinds.index(("node_failed", "plugged"))
    retried_at = next(i for i, (k, _) in enumerate(kinds) if k == "node_retried")
    produced_at = kinds.index(("node_produced", "plugged"))
    assert failed_at < retried_at < produced_at  # the failed attempt stays on the record
    assert verify_run(store, run_id) == []


def test_resume_retry_failed_from_python(tmp_path, store, monkeypatch):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "retry_nodes_api.py").write_text(RETRY_NODES.replace("prodex_plugin", "plug_api"))
    monkeypatch.syspath_prepend(str(plugins))
    for name in ("retry_nodes_api", "plug_api"):  # imported from this test's folder, not a last
        monkeypatch.delitem(sys.modules, name, raising=False)  # run's (the other backend's)
    import retry_nodes_api

    tpl = px.Template("retried_api", base_dir=tmp_path)
    tpl.source("t", _data(tmp_path).name, gate={"gate_id": "g", "name": "G", "instructions": CLEAN})
    tpl.python_node("plugged", function=retry_nodes_api.needs_plugin)
    run = tpl.run(store=store, policy=px.confirm_high).wait(timeout=60)
    assert run.status == "failed"
    (plugins / "plug_api.py").write_text("def scale(n):\n    return n + 1\n")
    run.resume(retry_failed=True).wait(timeout=60)
    assert run.status == "completed" and run.value("plugged") == 41
    assert run.state.nodes["plugged"].attempt == 2


def test_deleting_a_run_removes_its_captures_unless_another_run_holds_them(tmp_path, store):
    k = 5

    def plus_k(t):  # a closure: captured
        return len(t) + k

    def build(name: str) -> px.Template:
        tpl = px.Template(name, base_dir=tmp_path)
        gate = {"gate_id": "g", "name": "G", "instructions": CLEAN}
        tpl.source("t", _data(tmp_path).name, gate=gate)
        tpl.python_node("plus", function=plus_k)
        return tpl

    first = build("captures").run(store=store, policy=px.confirm_high).wait(timeout=30)
    second = build("captures").run(store=store, policy=px.confirm_high).wait(timeout=30)
    assert first.status == second.status == "completed"
    sha = store.events(first.id)[0].event.functions["plus"]["artifact"]
    assert store.events(second.id)[0].event.functions["plus"]["artifact"] == sha  # shared
    store.delete_run(first.id)
    assert store.artifacts.path(sha).exists()  # the second run still holds it
    assert verify_run(store, second.id) == []
    store.delete_run(second.id)
    assert not store.artifacts.path(sha).exists()  # nobody left: removed with its run
