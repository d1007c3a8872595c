"""POST runs/{id}/resume: the Resume button of the Pipelines workspace. Only an interrupted run
(its worker died with work left that needs no decision) is resumed, in a new worker. On both
backends (the store fixtures of tests/test_server.py)."""

from __future__ import annotations

import asyncio
import os
import signal

import prodex_jupyter as px

from .server_support import finished, idle_at_gate
from .test_server import (  # noqa: F401 (fixtures)
    api,
    jp_server_config,
    root,
    start,
    store_location,
)


async def test_resume_continues_an_interrupted_run_and_refuses_any_other(api, root):  # noqa: F811
    (root / "hold").write_text("")
    run_id = await start(api, "slow.prodex.yaml")
    await api.until(run_id, idle_at_gate)
    code, body = await api.post(f"runs/{run_id}/resume", {})
    assert code == 409 and "not interrupted" in body["message"]  # it waits for a decision

    assert (await api.post(f"runs/{run_id}/gates/numbers_ok", {"decision": "confirm"}))[0] == 200
    record = await api.until(run_id, lambda r: r["executing"])
    code, body = await api.post(f"runs/{run_id}/resume", {})
    assert code == 409  # a live worker executes it
    os.kill(record["executor"]["pid"], signal.SIGKILL)
    await api.until(run_id, lambda r: r["interrupted"])
    (root / "hold").unlink()

    code, body = await api.post(f"runs/{run_id}/resume", {})
    assert code == 202 and body == {"run_id": run_id}
    record = await api.until(run_id, finished)
    assert record["status"] == "completed" and record["interrupted"] is False
    assert (await api.post("runs/no-such-run/resume", {}))[0] == 404


async def test_a_decision_seen_twice_as_the_worker_leaves_starts_one_worker(
    api,  # noqa: F811
    root,  # noqa: F811
    store,
    jp_serverapp,
    monkeypatch,
):
    """A decision that lands as the run's worker exits is seen by the decision's request
    (`resume_soon`) and by the exiting worker's watcher (`resume`), the second while the first's
    worker is still starting. One worker must result: a second one waited for the lease and took
    the run over, as from a dead process, when the first was killed, so the run never showed
    interrupted (a browser test failed on it in CI)."""
    (root / "hold").write_text("")
    run_id = await start(api, "slow.prodex.yaml")
    await api.until(run_id, idle_at_gate)
    workers = jp_serverapp.web_app.settings["prodex_workers"]
    await workers.wait_all()  # the worker that started the run has exited and been seen to
    spawned: list[list[str]] = []
    real = workers._spawn

    async def counted(args):
        spawned.append(list(args))
        return await real(args)

    monkeypatch.setattr(workers, "_spawn", counted)
    px.load_run(run_id, store).confirm("numbers_ok", by="bob")  # the decision, recorded
    watcher = asyncio.ensure_future(workers.resume(run_id))  # the leaving worker's watcher
    await asyncio.sleep(0)
    workers.resume_soon(run_id)  # the decision's request, while that worker starts
    await watcher
    await asyncio.sleep(0.5)  # a second start, had one been asked for, is under way by now
    assert spawned == [["resume", run_id]]
    assert (await api.post(f"runs/{run_id}/resume", {}))[0] == 409  # nor a third one

    record = await api.until(run_id, lambda r: r["executing"])
    os.kill(record["executor"]["pid"], signal.SIGKILL)
    record = await api.until(run_id, lambda r: r["interrupted"])
    assert record["status"] == "executing" and spawned == [["resume", run_id]]
