# ruff: noqa: E501  (pinned record text is kept on one line, as stored)
"""The record a run writes is pinned: the same events, in the same order, with the same payload
text, chained by the same hashes. Speed work on the engine and the store (batching, encoding,
hashing) must leave all of it identical; any change to what is recorded fails here first.

Only what differs between two runs of the same input is masked: the run's id, clock times, node
durations, the temporary folder, and who started the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import prodex_jupyter as px
from prodex_jupyter.store import (
    GateDecided,
    GatePosed,
    InputConsumed,
    NodeFailed,
    NodeProduced,
    NodeRetried,
    NodeStarted,
    RunCreated,
    RunStatusChanged,
)
from prodex_jupyter.store.event_log import chain_hash
from prodex_jupyter.store.ledger import GENESIS

CLEAN = "- required columns: a, b\n- no nulls in a\n- a between -100 and 1000\n- at least 1 rows"


def test_the_chain_hash_of_given_fields_is_pinned():
    """sha256 over the previous hash, run id, seq, time, kind and payload text, joined by
    newlines: what `verify` recomputes, so it can never change for events already written."""
    digest = chain_hash(GENESIS, "run-x", 0, "2026-12-02T10:00:00.000000+00:00", "k", '{"a":1}')
    assert digest == "0d50b2eda631af6420df1c1621c4c277c1d05f153497ded48a40e5d1a306f4d6"
    assert chain_hash(digest, "run-x", 1, "t", "node_started", '{"node_ids":["é"]}') == (
        "4e7aea149b37aaecf7d5cf361ba659a23285e73c6c2e920b04359ffc09b720fa"
    )


EVERY_KIND = [
    RunCreated(
        "t",
        "f" * 64,
        {"id": "t", "nodes": []},
        {"n": {"code": "c"}},
        [{"id": "n", "kind": "python", "upstream": [], "gate_id": None}],
        [{"gate_id": "g", "node_id": "n", "name": "G", "description": ""}],
        inputs={"s": "/data/s.csv"},
        base_dir="/data",
        started_by="ana",
        functions={"n": {"how": "import", "ref": "m:f", "digest": "d", "path": "/p"}},
        timeout_s=2.5,
    ),
    RunStatusChanged("executing", reason="resumed by process 1 on host"),
    InputConsumed("s", "/data/s.csv", 194, "ab" * 32, 40, "csv"),
    NodeStarted(["n", "m"]),
    NodeProduced(
        "n",
        "scalar",
        2**70 + 1,
        None,
        None,
        [],
        "def n(s):\n    return 1",
        "Zürich – °C",
        [{"node_id": "s", "path": "/data/s.csv", "size": 194, "sha256": "ab" * 32}],
        [{"gate_id": "g", "status": "confirmed", "by": "ana", "at": "t", "decided_seq": 3}],
        0.000123,
    ),
    NodeProduced(
        "m",
        "table",
        None,
        "cd" * 32,
        38,
        [["a", "int64"], ["b", "double"]],
        "SELECT 1",
        "",
        [],
        [],
        1.5,
    ),
    NodeFailed("k", "ValueError: bad", "Traceback ..."),
    NodeRetried(["k"], reason="retry"),
    GatePosed("g", "n", {"checks": [], "confidence": "high", "sample": [{"a": 1.0}]}, "high", "ok"),
    GateDecided("g", "confirmed", "ana", "fine", "high"),
]


def test_every_kind_of_event_is_stored_as_pinned_text_and_chained(store):
    """Each kind's payload text as written (sorted keys, no spaces, UTF-8 kept, integers beyond
    64 bits exact), and each stored hash the pinned chain hash of the stored fields."""
    first = store.create_run(EVERY_KIND[0])
    stored = [first, *store.append(first.run_id, *EVERY_KIND[1:])]
    assert [s.event for s in stored] == EVERY_KIND
    with store.log.snapshot() as snap:
        rows = snap.raw_events(first.run_id)
    assert [r[4] for r in rows] == PINNED_PAYLOADS
    prev = GENESIS
    for run_id, seq, at, kind, payload, prev_hash, digest in rows:
        assert prev_hash == prev
        assert digest == chain_hash(prev, run_id, seq, at, kind, payload)
        prev = digest
    assert [s.hash for s in stored] == [r[6] for r in rows]
    assert [e.event for e in store.events(first.run_id)] == EVERY_KIND


PINNED_PAYLOADS = [
    '{"base_dir":"/data","fingerprint":"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff","functions":{"n":{"digest":"d","how":"import","path":"/p","ref":"m:f"}},"gates":[{"description":"","gate_id":"g","name":"G","node_id":"n"}],"inputs":{"s":"/data/s.csv"},"node_digests":{"n":{"code":"c"}},"nodes":[{"gate_id":null,"id":"n","kind":"python","upstream":[]}],"started_by":"ana","template":{"id":"t","nodes":[]},"template_id":"t","timeout_s":2.5}',
    '{"reason":"resumed by process 1 on host","status":"executing"}',
    '{"format":"csv","node_id":"s","path":"/data/s.csv","rows":40,"sha256":"abababababababababababababababababababababababababababababababab","size":194,"snapshot":false}',
    '{"node_ids":["n","m"]}',
    '{"artifact":null,"columns":[],"derivation_code":"def n(s):\\n    return '
    '1","derivation_explanation":"Zürich – '
    '°C","gates_passed":[{"at":"t","by":"ana","decided_seq":3,"gate_id":"g","status":"confirmed"}],"node_id":"n","rows":null,"seconds":0.000123,"sources":[{"node_id":"s","path":"/data/s.csv","sha256":"abababababababababababababababababababababababababababababababab","size":194}],"value":1180591620717411303425,"value_kind":"scalar"}',
    '{"artifact":"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd","columns":[["a","int64"],["b","double"]],"derivation_code":"SELECT '
    '1","derivation_explanation":"","gates_passed":[],"node_id":"m","rows":38,"seconds":1.5,"sources":[],"value":null,"value_kind":"table"}',
    '{"error":"ValueError: bad","node_id":"k","traceback":"Traceback ..."}',
    '{"node_ids":["k"],"reason":"retry"}',
    '{"confidence":"high","evidence":{"checks":[],"confidence":"high","sample":[{"a":1.0}]},"gate_id":"g","node_id":"n","summary":"ok"}',
    '{"by":"ana","confidence_shown":"high","decision":"confirmed","gate_id":"g","note":"fine"}',
]


def pinned_template(folder: Path) -> px.Template:
    """A chain (one node per step, so the order of events is fixed): a gated CSV source, a gated
    SQL node, a python node and an output, all confirmed by the policy."""
    (folder / "t.csv").write_text("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(40)))
    tpl = px.Template("pinned", base_dir=folder)
    tpl.source(
        "t",
        "t.csv",
        explanation="raw rows",
        gate={"gate_id": "t_shape", "name": "T shape", "instructions": CLEAN},
    )
    tpl.sql(
        "big",
        "SELECT a, b FROM t WHERE a >= 2 ORDER BY a",
        gate={"gate_id": "big_ok", "name": "Big", "instructions": "- at least 1 rows"},
    )
    tpl.python_node("n_rows", code="def n_rows(big):\n    return len(big)\n", explanation="rows")
    tpl.output("total", of="n_rows")
    return tpl


def masked(kind: str, payload: str, folder: Path) -> dict:
    """The payload with what differs between two runs of the same input replaced."""
    data = json.loads(payload.replace(str(folder.resolve()), "<tmp>"))
    if kind == "run_created":
        data["started_by"] = "<actor>"
    if kind == "node_produced":
        data["seconds"] = "<seconds>"
        for gate in data["gates_passed"]:
            gate["at"] = "<at>"
    return data


def test_a_run_records_the_pinned_event_stream(tmp_path, store):
    run = pinned_template(tmp_path).run(store=store, policy=px.confirm_high)
    run.wait(timeout=60)
    assert run.status == "completed" and run.value("total") == 38
    with store.log.snapshot() as snap:
        rows = snap.raw_events(run.id)
    stream = [(r[3], masked(r[3], r[4], tmp_path)) for r in rows]
    assert stream == PINNED_STREAM
    assert [r[1] for r in rows] == list(range(len(rows)))
    prev = GENESIS
    for run_id, seq, at, kind, payload, prev_hash, digest in rows:
        assert (prev_hash, digest) == (prev, chain_hash(prev, run_id, seq, at, kind, payload))
        prev = digest
    assert px.verify_run(store, run.id) == []


PINNED_STREAM = [
    (
        "run_created",
        {
            "base_dir": "<tmp>",
            "fingerprint": "d48f5a4ef0f3aa8032d889f893b924699eb00d10b2a35ca197123783790a0bc2",
            "functions": {},
            "gates": [
                {"description": "", "gate_id": "t_shape", "name": "T shape", "node_id": "t"},
                {"description": "", "gate_id": "big_ok", "name": "Big", "node_id": "big"},
            ],
            "inputs": {"t": "<tmp>/t.csv"},
            "node_digests": {
                "big": {
                    "code": "b1c6dfeab67706092e2d93c1c60f8e0cc784e9806c79ed3c28c2b719fefeced5",
                    "explanation": "12ae32cb1ec02d01eda3581b127c1fee3b0dc53572ed6baf239721a03d82e126",
                    "gate": "f8f754e84612fda7ceb65418fde7ca7d8e77706dc1be29a77f0ce2f3686722ef",
                },
                "n_rows": {
                    "code": "1f033020fdb9e647afa67c157d2b1fe69616f2682a5a9b44db8c323eccea0b9c",
                    "explanation": "97cdabca76704e463253cf979673e1dd6c6816a88bdcb927e13d5f336468f4e2",
                    "gate": "74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b",
                },
                "t": {
                    "code": "b7234dab5b6faeec0cbee2d24297a5b8243eb131a809fdd019e2026aeec4d2da",
                    "explanation": "abe8ed876ed6f76bb706598f0322e51b2a73df4c5e6419971afa98eb3f1f94b3",
                    "gate": "28172782acc0dfbebdfd13cb29804cfe3b811f7465cb99cec950017dc3c2197b",
                },
                "total": {
                    "code": "7d8d7f78f8b6a6b27fe0e4f5806feeb21250e2adae91a791c40b68471cd6ffc2",
                    "explanation": "12ae32cb1ec02d01eda3581b127c1fee3b0dc53572ed6baf239721a03d82e126",
                    "gate": "74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b",
                },
            },
            "nodes": [
                {"gate_id": "t_shape", "id": "t", "kind": "source", "upstream": []},
                {"gate_id": "big_ok", "id": "big", "kind": "sql", "upstream": ["t"]},
                {"gate_id": None, "id": "n_rows", "kind": "python", "upstream": ["big"]},
                {"gate_id": None, "id": "total", "kind": "output", "upstream": ["n_rows"]},
            ],
            "started_by": "<actor>",
            "template": {
                "id": "pinned",
                "nodes": [
                    {
                        "explanation": "raw rows",
                        "format": "csv",
                        "gate": {
                            "gate_id": "t_shape",
                            "instructions": "- required columns: a, b\n"
                            "- no nulls in a\n"
                            "- a between -100 and 1000\n"
                            "- at least 1 rows",
                            "name": "T shape",
                        },
                        "id": "t",
                        "kind": "source",
                        "path": "t.csv",
                    },
                    {
                        "gate": {
                            "gate_id": "big_ok",
                            "instructions": "- at least 1 rows",
                            "name": "Big",
                        },
                        "id": "big",
                        "kind": "sql",
                        "sql": "SELECT a, b FROM t WHERE a >= 2 ORDER BY a",
                    },
                    {
                        "code": "def n_rows(big):\n    return len(big)",
                        "explanation": "rows",
                        "id": "n_rows",
                        "kind": "python",
                    },
                    {"id": "total", "kind": "output", "of": "n_rows"},
                ],
            },
            "template_id": "pinned",
            "timeout_s": None,
        },
    ),
    ("run_status", {"reason": "", "status": "executing"}),
    ("node_started", {"node_ids": ["t"]}),
    (
        "input_consumed",
        {
            "format": "csv",
            "node_id": "t",
            "path": "<tmp>/t.csv",
            "rows": 40,
            "sha256": "1c505708f17984f84d08eed53b5b01873abeb731b38a790c1d9da20744da1cf7",
            "size": 194,
            "snapshot": False,
        },
    ),
    (
        "node_produced",
        {
            "artifact": "b5d7a88ba8a83a2cb877bc155465666557dcb30c293ea24d3bb4d42e166bed71",
            "columns": [["a", "int64"], ["b", "int64"]],
            "derivation_code": "-- read t.csv",
            "derivation_explanation": "raw rows",
            "gates_passed": [],
            "node_id": "t",
            "rows": 40,
            "seconds": "<seconds>",
            "sources": [
                {
                    "node_id": "t",
                    "path": "<tmp>/t.csv",
                    "sha256": "1c505708f17984f84d08eed53b5b01873abeb731b38a790c1d9da20744da1cf7",
                    "size": 194,
                }
            ],
            "value": None,
            "value_kind": "table",
        },
    ),
    (
        "gate_posed",
        {
            "confidence": "high",
            "evidence": {
                "checks": [
                    {
                        "bullet": "required columns: a, b",
                        "message": "Required columns ['a', 'b'] all present.",
                        "observed": {"missing": [], "present": ["a", "b"]},
                        "status": "pass",
                        "unexpected_count": 0,
                        "unexpected_rows": [],
                    },
                    {
                        "bullet": "no nulls in a",
                        "message": "0 nulls in a.",
                        "observed": {"nulls": {"a": 0}},
                        "status": "pass",
                        "unexpected_count": 0,
                        "unexpected_rows": [],
                    },
                    {
                        "bullet": "a between -100 and 1000",
                        "message": "a ranges 0–39, within [-100, 1000].",
                        "observed": {"high": 1000, "low": -100, "max": 39, "min": 0, "outside": 0},
                        "status": "pass",
                        "unexpected_count": 0,
                        "unexpected_rows": [],
                    },
                    {
                        "bullet": "at least 1 rows",
                        "message": "40 rows, as expected.",
                        "observed": {"high": None, "low": 1, "row_count": 40},
                        "status": "pass",
                        "unexpected_count": None,
                        "unexpected_rows": [],
                    },
                ],
                "columns": [
                    {
                        "categories": None,
                        "distinct_count": None,
                        "max": 39,
                        "min": 0,
                        "name": "a",
                        "null_count": 0,
                        "top_values": [],
                        "type": "BIGINT",
                    },
                    {
                        "categories": None,
                        "distinct_count": None,
                        "max": 2,
                        "min": 0,
                        "name": "b",
                        "null_count": 0,
                        "top_values": [],
                        "type": "BIGINT",
                    },
                ],
                "confidence": "high",
                "data_passes": 1,
                "drift": None,
                "files": [],
                "label": "Source: t.csv",
                "row_count": 40,
                "sample": [
                    {"a": 0, "b": 0},
                    {"a": 1, "b": 1},
                    {"a": 2, "b": 2},
                    {"a": 3, "b": 0},
                    {"a": 4, "b": 1},
                ],
                "summary": "Source: t.csv. Required columns ['a', 'b'] all present. 40 rows, 0 "
                "nulls in a. As range 0–39 — within expected bounds. Confidence: "
                "high.",
                "warnings": [],
            },
            "gate_id": "t_shape",
            "node_id": "t",
            "summary": "Source: t.csv. Required columns ['a', 'b'] all present. 40 rows, 0 nulls in a. "
            "As range 0–39 — within expected bounds. Confidence: high.",
        },
    ),
    (
        "gate_decided",
        {
            "by": "policy:confirm_high",
            "confidence_shown": "high",
            "decision": "confirmed",
            "gate_id": "t_shape",
            "note": "policy:confirm_high: confidence high",
        },
    ),
    ("node_started", {"node_ids": ["big"]}),
    (
        "node_produced",
        {
            "artifact": "3e0b0036b3d5ce34d3ebb874e80fd1e8ccef675e5e733abbce187c300ff900c2",
            "columns": [["a", "int64"], ["b", "int64"]],
            "derivation_code": "SELECT a, b FROM t WHERE a >= 2 ORDER BY a",
            "derivation_explanation": "",
            "gates_passed": [
                {
                    "at": "<at>",
                    "by": "policy:confirm_high",
                    "decided_seq": 6,
                    "gate_id": "t_shape",
                    "status": "confirmed",
                }
            ],
            "node_id": "big",
            "rows": 38,
            "seconds": "<seconds>",
            "sources": [
                {
                    "node_id": "t",
                    "path": "<tmp>/t.csv",
                    "sha256": "1c505708f17984f84d08eed53b5b01873abeb731b38a790c1d9da20744da1cf7",
                    "size": 194,
                }
            ],
            "value": None,
            "value_kind": "table",
        },
    ),
    (
        "gate_posed",
        {
            "confidence": "high",
            "evidence": {
                "checks": [
                    {
                        "bullet": "at least 1 rows",
                        "message": "38 rows, as expected.",
                        "observed": {"high": None, "low": 1, "row_count": 38},
                        "status": "pass",
                        "unexpected_count": None,
                        "unexpected_rows": [],
                    }
                ],
                "columns": [
                    {
                        "categories": None,
                        "distinct_count": None,
                        "max": 39,
                        "min": 2,
                        "name": "a",
                        "null_count": 0,
                        "top_values": [],
                        "type": "BIGINT",
                    },
                    {
                        "categories": None,
                        "distinct_count": None,
                        "max": 2,
                        "min": 0,
                        "name": "b",
                        "null_count": 0,
                        "top_values": [],
                        "type": "BIGINT",
                    },
                ],
                "confidence": "high",
                "data_passes": 1,
                "drift": None,
                "files": [],
                "label": "Node: big",
                "row_count": 38,
                "sample": [
                    {"a": 2, "b": 2},
                    {"a": 3, "b": 0},
                    {"a": 4, "b": 1},
                    {"a": 5, "b": 2},
                    {"a": 6, "b": 0},
                ],
                "summary": "Node: big. 38 rows, no nulls. Confidence: high.",
                "warnings": [],
            },
            "gate_id": "big_ok",
            "node_id": "big",
            "summary": "Node: big. 38 rows, no nulls. Confidence: high.",
        },
    ),
    (
        "gate_decided",
        {
            "by": "policy:confirm_high",
            "confidence_shown": "high",
            "decision": "confirmed",
            "gate_id": "big_ok",
            "note": "policy:confirm_high: confidence high",
        },
    ),
    ("node_started", {"node_ids": ["n_rows"]}),
    (
        "node_produced",
        {
            "artifact": None,
            "columns": [],
            "derivation_code": "def n_rows(big):\n    return len(big)",
            "derivation_explanation": "rows",
            "gates_passed": [
                {
                    "at": "<at>",
                    "by": "policy:confirm_high",
                    "decided_seq": 6,
                    "gate_id": "t_shape",
                    "status": "confirmed",
                },
                {
                    "at": "<at>",
                    "by": "policy:confirm_high",
                    "decided_seq": 10,
                    "gate_id": "big_ok",
                    "status": "confirmed",
                },
            ],
            "node_id": "n_rows",
            "rows": None,
            "seconds": "<seconds>",
            "sources": [
                {
                    "node_id": "t",
                    "path": "<tmp>/t.csv",
                    "sha256": "1c505708f17984f84d08eed53b5b01873abeb731b38a790c1d9da20744da1cf7",
                    "size": 194,
                }
            ],
            "value": 38,
            "value_kind": "scalar",
        },
    ),
    ("node_started", {"node_ids": ["total"]}),
    (
        "node_produced",
        {
            "artifact": None,
            "columns": [],
            "derivation_code": "SELECT * FROM n_rows",
            "derivation_explanation": "",
            "gates_passed": [
                {
                    "at": "<at>",
                    "by": "policy:confirm_high",
                    "decided_seq": 6,
                    "gate_id": "t_shape",
                    "status": "confirmed",
                },
                {
                    "at": "<at>",
                    "by": "policy:confirm_high",
                    "decided_seq": 10,
                    "gate_id": "big_ok",
                    "status": "confirmed",
                },
            ],
            "node_id": "total",
            "rows": None,
            "seconds": "<seconds>",
            "sources": [
                {
                    "node_id": "t",
                    "path": "<tmp>/t.csv",
                    "sha256": "1c505708f17984f84d08eed53b5b01873abeb731b38a790c1d9da20744da1cf7",
                    "size": 194,
                }
            ],
            "value": 38,
            "value_kind": "scalar",
        },
    ),
    ("run_status", {"reason": "", "status": "completed"}),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Both stores write through the same code (store/event_log.py's write_* functions)."""
    return request.param
