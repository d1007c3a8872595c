"""Who a decision names when jupyter_server's own token login knows no user names."""

from __future__ import annotations

import json

import pytest

import prodex_jupyter as px
from prodex_jupyter.store.actor import current_actor

from .server_support import Api, idle_at_gate, make_root


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"prodex_jupyter": True}}}


@pytest.fixture
def api(jp_fetch, jp_root_dir, jp_serverapp, jp_asyncio_loop):
    make_root(jp_root_dir)
    yield Api(jp_fetch)
    workers = jp_serverapp.web_app.settings["prodex_workers"]
    workers.kill_all()
    jp_asyncio_loop.run_until_complete(workers.wait_all())


async def test_a_token_login_names_the_servers_user_not_an_anonymous_one(api, jp_root_dir):
    response = await api.fetch("api", "me")
    made_up = json.loads(response.body)["identity"]
    assert made_up["name"].startswith("Anonymous")  # what jupyter_server itself calls the user
    code, body = await api.post("runs", {"template": "tiny.prodex.yaml"})
    assert code == 201, body
    run_id = body["run_id"]
    await api.until(run_id, idle_at_gate)
    code, gate = await api.post(
        f"runs/{run_id}/gates/numbers_ok", {"decision": "reject", "note": "n is wrong"}
    )
    assert code == 200, gate
    me = current_actor()
    assert gate["decisions"][-1]["by"] == me != made_up["username"]
    assert px.RunStore(jp_root_dir / ".prodex").state(run_id).started_by == me
