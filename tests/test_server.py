"""The REST API of the server extension, through a real jupyter_server (pytest-jupyter).

On both backends (tests/conftest.py): the store the server starts with is `.prodex` under its
root (the default), or a PostgreSQL database named by PRODEX_STORE, as a team's JupyterHub sets
it; that URL carries a password the database asks for, which the workers the server starts must
be handed too."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from jupyter_server.auth.identity import IdentityProvider, User

import prodex_jupyter as px
from prodex_jupyter.view.canvas import PADDING

from .server_support import (
    FOUR_EYES,
    TINY_HEAD,
    Api,
    close_store,
    finished,
    idle_at_gate,
    make_root,
)

REPO = Path(__file__).resolve().parents[1]
ROUTES = [
    ("GET", "templates", None),
    ("GET", "runs", None),
    ("POST", "runs", {"template": "tiny.prodex.yaml"}),
    ("GET", "runs/whatever", None),
    ("DELETE", "runs/whatever", None),
    ("POST", "runs/whatever/gates/g", {"decision": "confirm"}),
    ("GET", "compare?runs=a,b", None),
]


class HubLikeIdentity(IdentityProvider):
    """The token's holder is a named user, as behind JupyterHub (the default provider makes up
    an anonymous name per request when no login cookie is sent)."""

    async def get_user(self, handler):
        user = await super().get_user(handler)
        return None if user is None else User(username="alice", name="Alice")


@pytest.fixture
def store_location(backend: str, jp_root_dir: Path, request: pytest.FixtureRequest) -> str:
    """The server's store: its default folder, or a PostgreSQL database (with a password)."""
    if backend == "sqlite":
        return str(jp_root_dir / ".prodex")
    return request.getfixturevalue("pg_server").create_database(password=True)


@pytest.fixture
def jp_server_config(backend: str, request: pytest.FixtureRequest):
    if backend == "postgresql":  # set before the server starts, as a user would
        request.getfixturevalue("store_env")  # PRODEX_STORE (and PRODEX_ARTIFACTS)
    return {
        "ServerApp": {
            "jpserver_extensions": {"prodex_jupyter": True},
            "identity_provider_class": HubLikeIdentity,
        }
    }


@pytest.fixture
def root(jp_root_dir: Path) -> Path:
    return make_root(jp_root_dir)


@pytest.fixture
def api(jp_fetch, root, jp_serverapp, jp_asyncio_loop):
    yield Api(jp_fetch)
    workers = jp_serverapp.web_app.settings["prodex_workers"]
    workers.kill_all()
    jp_asyncio_loop.run_until_complete(workers.wait_all())
    close_store(jp_serverapp.web_app.settings["prodex_store"])


async def start(api: Api, template: str = "tiny.prodex.yaml", **inputs: str) -> str:
    code, body = await api.post("runs", {"template": template, "inputs": inputs})
    assert code == 201, body
    return body["run_id"]


# ------------------------------------------------------------------ auth
@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_every_route_refuses_a_request_without_the_token(api, method, path, body):
    path, _, query = path.partition("?")
    params = dict(p.split("=") for p in query.split("&")) if query else None
    for header in ({"Authorization": ""}, {"Authorization": "token not-the-token"}):
        code, _ = await api.call(method, path, body, params=params, headers=header)
        assert code == 403, (method, path, header)


def test_the_extension_is_registered_for_jupyter_server():
    points = px._jupyter_server_extension_points()
    assert points[0]["module"] == "prodex_jupyter.server"
    assert points[0]["app"].name == "prodex_jupyter"
    config = REPO / "jupyter-config" / "server-config" / "prodex_jupyter.json"
    assert json.loads(config.read_text()) == {
        "ServerApp": {"jpserver_extensions": {"prodex_jupyter": True}}
    }


# ------------------------------------------------------------- templates
async def test_templates_lists_every_template_under_the_root_with_broken_ones_named(api, root):
    (root / ".hidden").mkdir()
    (root / ".hidden" / "x.prodex.yaml").write_text("id: hidden\nnodes: []\n")
    code, body = await api.get("templates")
    assert code == 200
    entries = {t["path"]: t for t in body["templates"]}
    assert set(entries) == {
        "examples/plant_kpis.prodex.yaml",
        "tiny.prodex.yaml",
        "slow.prodex.yaml",
        "bad/broken.prodex.yaml",
    }
    demo = entries["examples/plant_kpis.prodex.yaml"]
    assert demo["id"] == "plant_kpis" and demo["error"] is None
    assert demo["nodes"] == 7 and demo["gates"] == 3
    assert demo["description"].startswith("Weekly plant KPIs")
    broken = entries["bad/broken.prodex.yaml"]
    assert broken["nodes"] == 0
    assert "broken.prodex.yaml" in broken["error"] and "'a'" in broken["error"]
    assert all(t["last_run"] is None for t in body["templates"])


# ----------------------------------------------------- a run, end to end
async def test_a_run_starts_in_a_worker_stops_at_its_gate_and_a_decision_resumes_it(
    api, root, jp_serverapp
):
    run_id = await start(api)
    record = await api.until(run_id, idle_at_gate)
    assert record["status"] == "executing" and record["interrupted"] is False
    assert record["prompts"] == [
        {"gate_ids": ["numbers_ok"], "batch": False, "confidence": "medium"}
    ]
    gate = next(g for g in record["gates"] if g["gate_id"] == "numbers_ok")
    assert gate["status"] == "pending" and gate["evidence"]["row_count"] == 4
    assert {n["node_id"]: n["state"] for n in record["nodes"]} == {
        "numbers": "produced",
        "total": "blocked",
    }
    assert record["inputs"][0]["sha256"] and record["inputs"][0]["rows"] == 4
    assert os.getpid() not in {record["executor"] and record["executor"]["pid"]}

    code, body = await api.get("runs")
    assert code == 200 and body["total"] == 1
    assert body["runs"][0] == {
        "run_id": run_id,
        "pipeline": "tiny",
        "status": "executing",
        "gates_resolved": 0,
        "gates_total": 1,
        "pending_gates": 1,
        "started": body["runs"][0]["started"],
        "duration": body["runs"][0]["duration"],
        "executing": False,
        "interrupted": False,
    }

    code, gate = await api.post(f"runs/{run_id}/gates/numbers_ok", {"decision": "confirm"})
    assert code == 200, gate
    assert gate["status"] == "confirmed"
    record = await api.until(run_id, finished)
    assert record["status"] == "completed"
    total = next(r for r in record["results"] if r["node_id"] == "total")
    assert total["value"] == 10 and "sum(n)" in total["derivation_code"]
    assert total["sources"][0]["sha256"] == record["inputs"][0]["sha256"]
    assert total["gates_passed"][0]["gate_id"] == "numbers_ok"
    numbers = next(r for r in record["results"] if r["node_id"] == "numbers")
    assert numbers["table"]["rows"] == 4 and numbers["table"]["first_rows"][0] == {"n": 1}

    code, templates = await api.get("templates")
    tiny = next(t for t in templates["templates"] if t["id"] == "tiny")
    assert tiny["last_run"]["run_id"] == run_id and tiny["last_run"]["status"] == "completed"
    assert tiny["last_run"]["interrupted"] is False


async def test_the_decision_is_by_the_authenticated_user_never_a_name_the_client_sends(
    api, jp_serverapp
):
    run_id = await start(api)
    await api.until(run_id, idle_at_gate)
    code, gate = await api.post(
        f"runs/{run_id}/gates/numbers_ok",
        {"decision": "reject", "note": "column n is wrong", "by": "mallory"},
    )
    assert code == 200
    decision = gate["decisions"][-1]
    assert decision["decision"] == "rejected" and decision["note"] == "column n is wrong"
    # nothing can go on after the rejection: a worker closes the run
    record = await api.until(run_id, lambda r: finished(r) and not r["executing"])
    assert record["status"] == "completed_partial" and not record["interrupted"]
    response = await api.fetch("api", "me")  # who jupyter_server says the token's user is
    assert json.loads(response.body)["identity"]["username"] == "alice"
    assert decision["by"] == "alice"


async def test_the_jupyter_user_starts_and_deletes_runs_and_four_eyes_holds(api, root, store):
    (root / "four_eyes.prodex.yaml").write_text(FOUR_EYES)
    run_id = await start(api, "four_eyes.prodex.yaml")
    await api.until(run_id, idle_at_gate)
    assert store.state(run_id).started_by == "alice"  # not the worker's OS user
    code, body = await api.post(
        f"runs/{run_id}/gates/numbers_ok", {"decision": "confirm", "note": "fine"}
    )
    assert code == 409 and "four" in body["message"].lower(), body
    assert store.state(run_id).gates["numbers_ok"].status == "pending"  # nothing written
    code, _ = await api.call("DELETE", f"runs/{run_id}")
    assert code == 204
    (tombstone,) = [t for t in store.tombstones() if t.run_id == run_id]
    assert tombstone.by == "alice"


async def test_the_record_carries_the_view_the_front_end_draws(api, store):
    run_id = await start(api)
    record = await api.until(run_id, idle_at_gate)
    view = record["view"]
    nodes = {n["data"]["id"]: n for n in view["canvas"]["elements"]["nodes"]}
    assert set(nodes) == {"numbers", "total"}
    assert "g-pending" in nodes["numbers"]["classes"] and "attention" in nodes["numbers"]["classes"]
    assert nodes["numbers"]["position"]["x"] < nodes["total"]["position"]["x"]
    assert view["canvas"]["elements"]["edges"][0]["data"] == {
        "id": "numbers->total",
        "source": "numbers",
        "target": "total",
    }
    assert any(rule["selector"] == "node.g-confirmed" for rule in view["canvas"]["stylesheet"])
    assert view["canvas"]["attention"] == ["numbers"]
    assert view["canvas"]["opening"] == {"fit": True, "padding": PADDING}  # a small graph: whole
    assert view["run_info"]["gates_resolved"] == "0 / 1"
    assert "Gates resolved: <b>0 / 1</b>" in view["run_info"]["html"]
    assert view["cards"]["title"] == "Needs your decision"
    assert view["cards"]["prompts"][0]["gate_ids"] == ["numbers_ok"]
    assert "Numbers look right" in view["cards"]["prompts"][0]["html"]
    assert "SELECT" in view["drawer"]["total"]["html"]  # the SQL that will derive it
    assert "waiting on gate" in view["drawer"]["total"]["html"]
    sha = record["inputs"][0]["sha256"][:12]
    assert sha in view["drawer"]["numbers"]["html"]
    assert ".prodex-run-view" in view["css"]

    # the same functions feed the notebook's widgets: the same canvas for the same state
    from prodex_jupyter.view.canvas import canvas_plan, folded_elements

    state = store.state(run_id)
    plan = canvas_plan(state)  # a small graph: drawn whole, as the panel draws every graph
    assert plan.folded.groups == {}
    assert folded_elements(state, plan.folded, plan.layout) == view["canvas"]["elements"]


# ------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"template": ', "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ("", "empty"),
        ({}, "field 'template'"),
        ({"template": 3}, "field 'template'"),
        ({"template": "../outside.prodex.yaml"}, "outside the server's root"),
        ({"template": "/etc/passwd"}, "outside the server's root"),
        ({"template": "data/numbers.csv"}, "is not a *.prodex.yaml"),
        ({"template": "missing.prodex.yaml"}, "no file"),
        ({"template": "bad/broken.prodex.yaml"}, "broken.prodex.yaml"),
        ({"template": "tiny.prodex.yaml", "inputs": []}, "field 'inputs'"),
        ({"template": "tiny.prodex.yaml", "inputs": {"numbers": 5}}, "inputs.numbers"),
        ({"template": "tiny.prodex.yaml", "inputs": {"numbers": "../x.csv"}}, "inputs.numbers"),
        ({"template": "tiny.prodex.yaml", "inputs": {"nope": "data/more.csv"}}, "nope"),
        ({"template": "tiny.prodex.yaml", "inputs": {"numbers": "data/no.csv"}}, "not found"),
    ],
)
async def test_a_bad_start_is_400_naming_the_field_and_records_nothing(api, store, body, field):
    code, reply = await api.post("runs", body)
    assert code == 400, reply
    assert field in reply["message"]
    assert store.run_ids() == []


async def test_a_run_reads_the_inputs_it_is_given(api):
    run_id = await start(api, numbers="data/more.csv")
    record = await api.until(run_id, idle_at_gate)
    assert record["inputs"][0]["path"].endswith("more.csv") and record["inputs"][0]["rows"] == 3


async def test_unknown_runs_and_gates_are_404(api):
    run_id = await start(api)
    await api.until(run_id, idle_at_gate)
    assert (await api.get("runs/nope"))[0] == 404
    assert (await api.delete("runs/nope"))[0] == 404
    code, body = await api.post("runs/nope/gates/numbers_ok", {"decision": "confirm"})
    assert code == 404 and "nope" in body["message"]
    code, body = await api.post(f"runs/{run_id}/gates/nope", {"decision": "confirm"})
    assert code == 404 and "numbers_ok" in body["message"]
    code, body = await api.get("compare", runs=f"{run_id},nope")
    assert code == 404 and "nope" in body["message"]


async def test_refused_and_malformed_decisions_write_nothing(api, store):
    run_id = await start(api)
    await api.until(run_id, idle_at_gate)
    before = store.state(run_id).last_seq
    path = f"runs/{run_id}/gates/numbers_ok"
    for body, code, words in [
        ({"decision": "reject"}, 400, "field 'note': rejecting"),
        ({"decision": "reject", "note": "   "}, 400, "needs a note"),
        ({"decision": "approve"}, 400, "field 'decision'"),
        ({"decision": {}}, 400, "field 'decision'"),  # found by schemathesis: was a 500
        ({"note": "x"}, 400, "field 'decision'"),
        ({"decision": "confirm", "note": 5}, 400, "field 'note'"),
        ("{oops", 400, "not valid JSON"),
        ({"decision": "reopen"}, 409, "already open"),
    ]:
        got, reply = await api.post(path, body)
        assert got == code and words in reply["message"], (body, reply)
    assert store.state(run_id).last_seq == before
    assert (await api.post(path, {"decision": "confirm"}))[0] == 200
    code, reply = await api.post(path, {"decision": "confirm"})
    assert code == 409 and "already confirmed" in reply["message"]
    code, reply = await api.post(path, {"decision": "reopen"})  # an override needs its reason
    assert code == 400 and "field 'note': reopening" in reply["message"]


async def test_runs_are_filtered_and_paged_newest_first(api):
    first = await start(api)
    await api.until(first, idle_at_gate)
    second = await start(api, "slow.prodex.yaml")
    await api.until(second, idle_at_gate)
    code, body = await api.get("runs")
    assert [r["run_id"] for r in body["runs"]] == [second, first] and body["total"] == 2
    code, body = await api.get("runs", pipeline="tiny")
    assert [r["run_id"] for r in body["runs"]] == [first]
    code, body = await api.get("runs", pipeline="tiny,slow", limit=1, offset=1)
    assert [r["run_id"] for r in body["runs"]] == [first] and body["total"] == 2
    code, body = await api.get("runs", status="completed")
    assert body == {"runs": [], "total": 0, "limit": 100, "offset": 0}
    for params, field in [
        ({"status": "done"}, "field 'status'"),
        ({"limit": "x"}, "field 'limit'"),
        ({"limit": "0"}, "field 'limit'"),
        ({"limit": "1001"}, "field 'limit'"),
        ({"offset": "-1"}, "field 'offset'"),
    ]:
        code, reply = await api.get("runs", **params)
        assert code == 400 and field in reply["message"], params


async def test_delete_is_204_and_409_while_a_live_process_executes_the_run(api, root, store):
    (root / "hold").write_text("")
    run_id = await start(api, "slow.prodex.yaml")
    await api.until(run_id, idle_at_gate)
    assert (await api.post(f"runs/{run_id}/gates/numbers_ok", {"decision": "confirm"}))[0] == 200
    await api.until(run_id, lambda r: r["executing"])
    code, reply = await api.delete(f"runs/{run_id}")
    assert code == 409 and "being executed" in reply["message"]
    assert store.state(run_id).last_seq >= 0  # nothing deleted
    (root / "hold").unlink()
    await api.until(run_id, lambda r: finished(r) and not r["executing"])
    assert run_id in [r["run_id"] for r in (await api.get("runs"))[1]["runs"]]
    code, _ = await api.delete(f"runs/{run_id}")
    assert code == 204
    assert (await api.get(f"runs/{run_id}"))[0] == 404
    assert (await api.get("runs"))[1]["total"] == 0  # the list read again after this write


async def test_compare_puts_outputs_side_by_side_and_names_the_changed_input(api):
    ids = []
    for inputs in ({}, {"numbers": "data/more.csv"}):
        run_id = await start(api, **inputs)
        await api.until(run_id, idle_at_gate)
        await api.post(f"runs/{run_id}/gates/numbers_ok", {"decision": "confirm"})
        await api.until(run_id, finished)
        ids.append(run_id)
    code, body = await api.get("compare", runs=",".join(ids))
    assert code == 200, body
    assert body["runs"] == ids
    total = next(o for o in body["outputs"] if o["node_id"] == "total")
    assert total["values"] == [10, 60] and total["absolute_change"] == 50
    assert total["relative_change"] == 5.0
    pair = body["pairs"][0]
    assert pair["inputs"][0]["changed"] is True and not pair["fingerprint_changed"]
    assert "updated source data" in pair["verdict"]
    for runs, code_wanted in [(ids[0], 400), (f"{ids[0]},{ids[0]}", 400), ("", 400)]:
        code, reply = await api.get("compare", runs=runs)
        assert code == code_wanted and "field 'runs'" in reply["message"]


# ------------------------------------------------- workers die, not the server
async def test_a_killed_worker_leaves_the_server_serving_and_the_run_resumable(
    api, root, store, jp_serverapp
):
    (root / "hold").write_text("")
    run_id = await start(api, "slow.prodex.yaml")
    await api.until(run_id, idle_at_gate)
    await api.post(f"runs/{run_id}/gates/numbers_ok", {"decision": "confirm"})
    record = await api.until(run_id, lambda r: r["executing"])
    pid = record["executor"]["pid"]
    assert pid != os.getpid()
    os.kill(pid, signal.SIGKILL)

    record = await api.until(run_id, lambda r: not r["executing"])
    assert record["interrupted"] is True and record["status"] == "executing"
    code, body = await api.get("runs")
    assert code == 200 and body["runs"][0]["interrupted"] is True
    code, body = await api.get("templates")  # the server serves on, and marks the last run
    slow = next(t for t in body["templates"] if t["id"] == "slow")
    assert code == 200 and slow["last_run"]["run_id"] == run_id
    assert slow["last_run"]["interrupted"] is True

    (root / "hold").unlink()
    done = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "prodex_jupyter.cli.main",
            "--store",
            store.location,
            "resume",
            run_id,
        ],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    record = await api.until(run_id, finished)
    assert record["status"] == "completed" and record["interrupted"] is False
    count = next(r for r in record["results"] if r["node_id"] == "count")
    assert count["value"] == 4


async def test_a_decision_resumes_an_interrupted_run_in_a_new_worker(api, root):
    (root / "hold").write_text("")
    run_id = await start(api, "slow.prodex.yaml")
    await api.until(run_id, idle_at_gate)
    assert (await api.post(f"runs/{run_id}/gates/numbers_ok", {"decision": "confirm"}))[0] == 200
    record = await api.until(run_id, lambda r: r["executing"])
    os.kill(record["executor"]["pid"], signal.SIGKILL)
    await api.until(run_id, lambda r: r["interrupted"])
    (root / "hold").unlink()
    # a decision on the run (here: reopen and confirm again) starts a resuming worker
    reopen = {"decision": "reopen", "note": "look again"}
    assert (await api.post(f"runs/{run_id}/gates/numbers_ok", reopen))[0] == 200
    assert (await api.post(f"runs/{run_id}/gates/numbers_ok", {"decision": "confirm"}))[0] == 200
    record = await api.until(run_id, finished)
    assert record["status"] == "completed"


async def test_a_worker_that_cannot_start_the_run_is_a_400_and_the_server_serves_on(
    api, root, store, monkeypatch
):
    # an input file that disappears between the server's check and the worker's start
    (root / "gone.csv").write_text("n\n1\n")
    from prodex_jupyter.server import workers as workers_module

    real = workers_module.Workers.start

    async def start_after_removing(self, template, inputs, started_by):
        (root / "gone.csv").unlink()
        return await real(self, template, inputs, started_by)

    monkeypatch.setattr(workers_module.Workers, "start", start_after_removing)
    code, reply = await api.post(
        "runs", {"template": "tiny.prodex.yaml", "inputs": {"numbers": "gone.csv"}}
    )
    assert code == 400 and "gone.csv" in reply["message"]
    assert store.run_ids() == []
    assert (await api.get("runs"))[0] == 200


# ------------------------------------------------------------ polling a run
async def test_an_unchanged_run_answers_304_and_any_change_shows_at_once(api, store):
    run_id = await start(api)
    await api.until(run_id, idle_at_gate)
    response = await api.fetch("prodex", "api", "runs", run_id)
    tag = response.headers["ETag"]
    again = await api.fetch(
        "prodex", "api", "runs", run_id, headers={"If-None-Match": tag}, raise_error=False
    )
    assert again.code == 304 and not again.body
    # a decision made elsewhere (another process, here the runtime directly) changes the tag
    px.load_run(run_id, store).confirm("numbers_ok", by="bob")
    changed = await api.fetch(
        "prodex", "api", "runs", run_id, headers={"If-None-Match": tag}, raise_error=False
    )
    assert changed.code == 200 and changed.headers["ETag"] != tag
    gate = json.loads(changed.body)["gates"][0]
    assert gate["status"] == "confirmed" and gate["decisions"][-1]["by"] == "bob"


async def test_the_drawer_can_be_asked_for_some_nodes_or_none(api):
    run_id = await start(api)
    await api.until(run_id, idle_at_gate)
    _, every = await api.get(f"runs/{run_id}")
    _, none = await api.get(f"runs/{run_id}", drawer="none")
    _, one = await api.get(f"runs/{run_id}", drawer="total")
    assert set(every["view"]["drawer"]) == {"numbers", "total"}
    assert none["view"]["drawer"] == {} and set(one["view"]["drawer"]) == {"total"}
    assert one["view"]["drawer"]["total"] == every["view"]["drawer"]["total"]
    assert none["view"]["canvas"] == every["view"]["canvas"]
    code, reply = await api.get(f"runs/{run_id}", drawer="total,nöde")  # found by schemathesis
    assert code == 400 and "field 'drawer'" in reply["message"] and "nöde" in reply["message"]


async def test_a_large_record_is_sent_gzipped_to_clients_that_accept_it(api, root):
    nodes = "\n".join(
        f"  - id: s{i}\n    kind: sql\n    sql: SELECT n + {i} AS n FROM numbers" for i in range(60)
    )
    (root / "wide.prodex.yaml").write_text(TINY_HEAD.replace("tiny", "wide", 1) + nodes + "\n")
    run_id = await start(api, "wide.prodex.yaml")
    await api.until(run_id, idle_at_gate)
    raw = await api.fetch(
        "prodex",
        "api",
        "runs",
        run_id,
        headers={"Accept-Encoding": "gzip"},
        decompress_response=False,
    )
    assert raw.headers["Content-Encoding"] == "gzip"
    record = json.loads(gzip.decompress(raw.body))
    assert len(record["nodes"]) == 61 and len(raw.body) < len(json.dumps(record)) / 3


async def test_a_run_deleted_by_another_process_is_404_at_once(api, store):
    run_id = await start(api)
    await api.until(run_id, idle_at_gate)
    assert (await api.get(f"runs/{run_id}"))[0] == 200
    assert (await api.get("runs"))[1]["total"] == 1
    px.delete_run(run_id, store=store)
    assert (await api.get(f"runs/{run_id}"))[0] == 404
    assert (await api.get("runs"))[1]["total"] == 0  # another connection's write is seen


@pytest.fixture
def prodex_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "elsewhere"
    monkeypatch.setenv("PRODEX_HOME", str(home))
    return home


async def test_the_store_is_prodex_home_when_set(prodex_home, api, root):
    run_id = await start(api)  # requested after prodex_home: the server starts with it set
    await api.until(run_id, idle_at_gate)
    assert px.RunStore(prodex_home).run_ids() == [run_id]
    assert not (root / ".prodex").exists()
