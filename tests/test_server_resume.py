"""POST runs/{id}/resume: the Resume button of the Pipelines workspace. Only an interrupted run
(its worker died with work left that needs no decision) is resumed, in a new worker. On both
backends (the store fixtures of tests/test_server.py)."""

from __future__ import annotations

import os
import signal

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
