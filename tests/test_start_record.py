"""What a run's start builds once and reuses (runtime/created.py, functions.code_digest) is
rebuilt when what it depends on changes, and the record is what building it anew gives."""

from __future__ import annotations

import hashlib
import importlib
import linecache
import sys
from pathlib import Path

import pandas as pd

import prodex_jupyter as px
from prodex_jupyter.runtime import functions
from prodex_jupyter.runtime.created import _build, template_record
from prodex_jupyter.store import RunCreated, RunState
from prodex_jupyter.store.events import canonical_json


def one(s: pd.DataFrame) -> int:
    return len(s)


def two(one: int) -> int:
    return one + 1


def three(two: int) -> int:
    return two + 1


def _template() -> px.Template:
    tpl = px.Template("start_cache", "first description")
    tpl.source("s")
    tpl.python_node("one", function=one)
    tpl.python_node("two", function=two)
    return tpl


def _run(tpl: px.Template, store: Path) -> RunCreated:
    return _created(
        tpl.run({"s": pd.DataFrame({"a": [1, 2]})}, store=store, policy=px.confirm_high)
    )


def _state(tpl: px.Template, store: Path) -> RunState:
    run = tpl.run({"s": pd.DataFrame({"a": [1, 2]})}, store=store, policy=px.confirm_high)
    run.wait(timeout=60)
    return run.state


def _created(run: px.Run) -> RunCreated:
    run.wait(timeout=60)
    first = run.store.events(run.id)[0].event  # read back from the store
    assert isinstance(first, RunCreated)
    return first


def test_runs_of_one_template_record_the_same_as_built_anew(tmp_path):
    tpl = _template()
    shared = template_record(tpl)
    assert template_record(tpl) is shared  # built once for the template as it stands
    a = _run(tpl, tmp_path / "s")
    b = _run(tpl, tmp_path / "s")
    fresh = _build(tpl)
    first = tpl.run({"s": pd.DataFrame({"a": [1, 2]})}, store=tmp_path / "s").wait(60)
    again = tpl.run({"s": pd.DataFrame({"a": [1, 2]})}, store=tmp_path / "s").wait(60)
    first.confirm("s_input", note="checked by hand")  # one run moves; the other's records not
    assert first.gates["s_input"].status == "confirmed"
    assert again.gates["s_input"].status == "pending"
    assert [(n.node_id, n.upstream) for n in again.state.nodes.values()] == [
        ("s", ()),
        ("one", ("s",)),
        ("two", ("one",)),
    ]
    for created in (a, b):
        for key, value in fresh.items():
            assert canonical_json(getattr(created, key)) == canonical_json(value)


def test_a_node_added_after_a_run_is_in_the_next_run_only(tmp_path):
    tpl = _template()
    before = _run(tpl, tmp_path / "s")
    tpl.python_node("three", function=three)
    after = _run(tpl, tmp_path / "s")
    assert [n["id"] for n in before.nodes] == ["s", "one", "two"]
    assert [n["id"] for n in after.nodes] == ["s", "one", "two", "three"]
    assert list(_state(tpl, tmp_path / "s").nodes) == ["s", "one", "two", "three"]
    assert [n["id"] for n in after.template["nodes"]] == ["s", "one", "two", "three"]
    assert set(after.node_digests) == {"s", "one", "two", "three"}
    assert set(after.functions) == {"one", "two", "three"}


def test_a_new_description_or_id_is_in_the_next_run(tmp_path):
    tpl = _template()
    _run(tpl, tmp_path / "s")
    tpl.description = "second description"
    assert _run(tpl, tmp_path / "s").template["description"] == ("second description")
    tpl.id = "renamed"
    assert template_record(tpl)["template"]["id"] == "renamed"


def test_code_digest_is_the_texts_sha256_whatever_was_hashed_before(monkeypatch):
    monkeypatch.setattr(functions, "_DIGESTS", {})
    monkeypatch.setattr(functions, "_DIGESTS_KEPT", 2)
    texts = ["def f():\n    return 1", "def f():\n    return 2", "def g():\n    return 1"]
    for _ in range(2):
        for text in texts:  # the third text clears the memo; every digest stays the text's
            assert functions.code_digest(text) == hashlib.sha256(text.encode()).hexdigest()
    assert len(functions._DIGESTS) <= 2


def test_an_edited_and_reloaded_function_records_its_new_code(tmp_path, monkeypatch):
    """A module function edited and reloaded (a kernel's autoreload), run again: the run records
    the new code and its digest, as a resuming process will check it."""
    (tmp_path / "edited_module.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "edited_module", raising=False)
    module = importlib.import_module("edited_module")
    recorded = []
    for text in ("def f(s):\n    return 1\n", "def f(s):\n    return 22\n"):
        (tmp_path / "edited_module.py").write_text(text)
        linecache.checkcache()
        module = importlib.reload(module)
        tpl = px.Template("edited")
        tpl.source("s")
        tpl.python_node("f", function=module.f)
        created = _run(tpl, tmp_path / "s")
        record = created.functions["f"]
        assert record["how"] == "import"
        assert record["digest"] == hashlib.sha256(text.strip().encode()).hexdigest()
        assert created.template["nodes"][1]["code"] == text.strip()
        recorded.append(record["digest"])
    assert recorded[0] != recorded[1]
