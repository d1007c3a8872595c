"""Who may decide: gates naming their deciders (users, OS groups) and four-eyes gates; refusals
name the gate and the rule and write nothing; PRODEX_USER and PRODEX_TRUST_USER_ENV=0."""

from __future__ import annotations

import getpass
import grp
import os
import subprocess
import sys
from pathlib import Path

import pytest

import prodex_jupyter as px
from prodex_jupyter.runtime.deciders import group_members
from prodex_jupyter.view.cards import gate_html

REPO = Path(__file__).resolve().parents[1]
CLEAN = "- required columns: a, b\n- no nulls in a\n- at least 1 rows"


def _template(tmp_path: Path, **rules) -> px.Template:
    (tmp_path / "t.csv").write_text("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(40)))
    tpl = px.Template("ruled", base_dir=tmp_path)
    tpl.source(
        "t", "t.csv", gate={"gate_id": "t_shape", "name": "T shape", "instructions": CLEAN, **rules}
    )
    tpl.output("n", sql="SELECT count(*) AS n FROM t")
    return tpl


def _started(tmp_path, store, monkeypatch, starter="carol", **rules) -> px.Run:
    monkeypatch.setenv("PRODEX_USER", starter)
    run = _template(tmp_path, **rules).run(store=store)
    run.wait()
    assert run.gates["t_shape"].status == "pending"
    return run


def test_rules_are_part_of_the_template_yaml_and_its_fingerprint(tmp_path):
    plain = _template(tmp_path)
    ruled = _template(tmp_path, deciders=["alice", "group:qa"], four_eyes=True)
    assert plain.fingerprint != ruled.fingerprint
    assert ruled.fingerprint != _template(tmp_path, deciders=["alice"], four_eyes=True).fingerprint
    assert ruled.node_digests()["t"]["gate"] != plain.node_digests()["t"]["gate"]
    saved = ruled.save(tmp_path / "ruled.prodex.yaml")
    text = saved.read_text()
    assert "deciders:" in text and "four_eyes: true" in text
    loaded = px.load_template(saved)
    gate = loaded.gates["t_shape"]
    assert gate.deciders == ("alice", "group:qa") and gate.four_eyes is True
    assert loaded.fingerprint == ruled.fingerprint


@pytest.mark.parametrize(
    ("rules", "field", "says"),
    [
        ({"deciders": "alice"}, "deciders", "must be a list"),
        ({"deciders": ["group:"]}, "deciders", "is not a user name"),
        ({"four_eyes": "yes"}, "four_eyes", "must be true or false"),
    ],
)
def test_malformed_rules_are_refused_naming_gate_and_field(tmp_path, rules, field, says):
    with pytest.raises(px.TemplateError) as err:
        _template(tmp_path, **rules).validate()
    text = str(err.value)
    assert "t_shape" in text and field in text and says in text


def test_only_the_deciders_decide_and_a_refusal_writes_nothing(tmp_path, store, monkeypatch):
    run = _started(tmp_path, store, monkeypatch, deciders=["alice"])
    before = len(store.events(run.id))
    with pytest.raises(px.DecisionRefused) as err:
        run.confirm("t_shape", note="fine", by="bob")
    message = str(err.value)
    assert "bob may not confirm gate 't_shape'" in message
    assert "deciders rule allows only alice" in message
    with pytest.raises(px.DecisionRefused):
        run.reject("t_shape", note="bad", by="bob")
    assert len(store.events(run.id)) == before
    assert run.refresh().gates["t_shape"].status == "pending"
    run.confirm("t_shape", note="fine", by="alice")
    run.wait()
    assert run.status == "completed"
    assert run.gates["t_shape"].last_decision.by == "alice"


def test_group_deciders_are_the_operating_systems_groups(tmp_path, store, monkeypatch):
    me = getpass.getuser()
    primary = grp.getgrgid(os.getgid()).gr_name  # a group I am in through my primary gid
    assert me in group_members(primary)
    listed = next((g for g in grp.getgrall() if g.gr_mem), None)
    if listed is not None:  # a group with listed members (Debian: ssl-cert lists postgres)
        assert set(listed.gr_mem) <= group_members(listed.gr_name)
    assert group_members("no-such-group-here") == set()

    run = _started(tmp_path, store, monkeypatch, deciders=[f"group:{primary}"])
    with pytest.raises(px.DecisionRefused, match=f"allows only group:{primary}"):
        run.confirm("t_shape", by="someone-not-in-it")
    run.confirm("t_shape", by=me)
    assert run.refresh().gates["t_shape"].status == "confirmed"


def test_four_eyes_the_starter_cannot_confirm(tmp_path, store, monkeypatch):
    run = _started(tmp_path, store, monkeypatch, starter="carol", four_eyes=True)
    assert run.state.started_by == "carol"
    before = len(store.events(run.id))
    with pytest.raises(px.DecisionRefused) as err:
        run.confirm("t_shape", note="mine looks fine")  # carol, from PRODEX_USER
    message = str(err.value)
    assert "carol may not confirm gate 't_shape'" in message and "four_eyes rule" in message
    assert len(store.events(run.id)) == before
    run.reject("t_shape", note="wrong extract")  # stopping her own run needs no second person
    assert run.refresh().gates["t_shape"].status == "rejected"
    run.confirm("t_shape", note="checked it", by="dave")
    assert run.refresh().gates["t_shape"].last_decision.by == "dave"


def test_a_policy_leaves_ruled_gates_to_a_person(tmp_path, store, monkeypatch):
    monkeypatch.setenv("PRODEX_USER", "carol")
    plain = _template(tmp_path).run(store=store, policy=px.confirm_high)
    plain.wait()
    assert plain.gates["t_shape"].last_decision.by == "policy:confirm_high"
    ruled = _template(tmp_path, four_eyes=True).run(store=store, policy=px.confirm_high)
    ruled.wait()
    assert ruled.gates["t_shape"].confidence == "high"
    assert ruled.gates["t_shape"].status == "pending"


def test_prodex_user_is_ignored_when_the_store_does_not_trust_it(monkeypatch):
    from prodex_jupyter.runtime import current_actor

    monkeypatch.setenv("PRODEX_USER", "mallory")
    assert current_actor() == "mallory"
    monkeypatch.setenv("PRODEX_TRUST_USER_ENV", "0")
    assert current_actor() == getpass.getuser()


def test_the_gate_card_shows_who_may_decide(tmp_path, store, monkeypatch):
    run = _started(tmp_path, store, monkeypatch, deciders=["alice", "group:qa"], four_eyes=True)
    html = gate_html(run.gates["t_shape"], batch=False)
    assert "Decided only by alice, group:qa" in html
    assert "Four eyes: whoever started the run cannot confirm it" in html
    plain = _started(tmp_path, store, monkeypatch)
    assert "prodex-gate-rules" not in gate_html(plain.gates["t_shape"], batch=False)


def test_the_command_line_refuses_with_the_rule_and_writes_nothing(tmp_path, store, monkeypatch):
    run = _started(tmp_path, store, monkeypatch, starter="carol", four_eyes=True)
    before = len(store.events(run.id))
    env = {**os.environ, "PYTHONPATH": str(REPO), "PRODEX_USER": "carol"}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "prodex_jupyter.cli.main",
            "--store",
            str(store.root),
            "confirm",
            run.id,
            "t_shape",
            "--note",
            "ok",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 2
    assert "carol may not confirm gate 't_shape'" in out.stderr and "four_eyes" in out.stderr
    assert len(store.events(run.id)) == before
