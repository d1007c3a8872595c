"""OpenLineage export: a run as START + COMPLETE/FAIL/RUNNING events, valid against the schemas of
the client's facet classes, delivered over HTTP to a receiver and to a JSON-lines file."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from openlineage.client.serde import Serde

import prodex_jupyter as px
from prodex_jupyter.cli.main import main as cli_main

from .openlineage_schema import validate_event


def _finished_demo(demo_template, store) -> px.Run:
    run = demo_template.run(policy=px.confirm_high, store=store)
    run.wait()
    while run.prompts:
        for gate_id in run.prompts[0].gate_ids:
            run.confirm(gate_id, note="looked at it", by="alice")
        run.wait()
    assert run.status == "completed"
    return run


def _as_json(events) -> list[dict]:
    return [json.loads(Serde.to_json(e)) for e in events]


def test_a_finished_run_as_openlineage_events(demo_template, demo_dir, store):
    run = _finished_demo(demo_template, store)
    start, done = _as_json(px.openlineage_events(run))
    for event in (start, done):
        assert validate_event(event) == []
    assert (start["eventType"], done["eventType"]) == ("START", "COMPLETE")
    assert start["run"]["runId"] == done["run"]["runId"]
    assert done["job"] == start["job"]
    assert done["job"]["namespace"] == "prodex" and done["job"]["name"] == "plant_kpis"
    assert done["job"]["facets"]["jobType"]["integration"] == "PRODEX"
    assert "throughput" in done["job"]["facets"]["documentation"]["description"]
    assert done["run"]["facets"]["prodex_run"]["run_id"] == run.id
    assert done["run"]["facets"]["prodex_run"]["status"] == "completed"

    # inputs: path, schema, content hash, metrics from the gate evidence, one assertion per check
    by_name = {d["name"].rsplit("/", 1)[-1]: d for d in done["inputs"]}
    throughput = by_name["weekly_throughput.csv"]
    path = demo_dir / "data" / "weekly_throughput.csv"
    assert throughput["namespace"] == "file"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert throughput["facets"]["version"]["datasetVersion"] == digest
    fields = [f["name"] for f in throughput["facets"]["schema"]["fields"]]
    assert fields == ["station", "cycle_time", "shift", "recipe_code", "ts"]
    metrics = throughput["inputFacets"]["dataQualityMetrics"]
    assert metrics["rowCount"] == 480 and metrics["bytes"] == path.stat().st_size
    assert metrics["columnMetrics"]["cycle_time"] == {
        "nullCount": 0,
        "min": 16.3,
        "max": 77.8,
        "quantiles": {},
    }
    assert metrics["columnMetrics"]["shift"]["distinctCount"] == 3
    assertions = throughput["facets"]["dataQualityAssertions"]["assertions"]
    evidence = run.gates["throughput_shape"].evidence
    assert [a["assertion"] for a in assertions] == [c["bullet"] for c in evidence["checks"]]
    assert all(a["success"] for a in assertions)
    ranged = next(a for a in assertions if a["assertion"] == "cycle_time between 10 and 100")
    assert ranged["column"] == "cycle_time" and ranged["name"] == "ValueRange"

    # outputs: every output node, with schema and row count
    outputs = {d["name"]: d for d in done["outputs"]}
    expected = {n for n, node in run.state.nodes.items() if node.kind == "output"}
    assert set(outputs) == {f"plant_kpis.{n}" for n in expected}
    for name, dataset in outputs.items():
        result = run.results[name.split(".", 1)[1]]
        if result.rows is not None:
            assert dataset["outputFacets"]["outputStatistics"]["rowCount"] == result.rows

    # one prodex_gate facet per gate: who decided what, when, with which note and confidence
    for gate in run.gates.values():
        facet = done["run"]["facets"][f"prodex_gate_{gate.gate_id}"]
        last = gate.last_decision
        assert facet["gate_id"] == gate.gate_id and facet["name"] == gate.name
        assert (facet["decision"], facet["by"], facet["at"], facet["note"]) == (
            "confirmed",
            last.by,
            last.at,
            last.note,
        )
        assert facet["confidence"] == gate.confidence
    assert {f["by"] for k, f in done["run"]["facets"].items() if k.startswith("prodex_gate_")} == {
        "policy:confirm_high",
        "alice",
    }


def test_a_failed_check_is_a_failed_assertion_and_a_waiting_run_is_running(demo_dir, store):
    bad = demo_dir / "data" / "weekly_throughput.csv"
    lines = bad.read_text().splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index("cycle_time")] = "900"
    bad.write_text("\n".join([lines[0], ",".join(row), *lines[2:]]) + "\n")
    run = px.load_template(demo_dir / "plant_kpis.prodex.yaml").run(store=store)
    run.wait()
    _start, latest = _as_json(px.openlineage_events(run))
    assert validate_event(latest) == []
    assert latest["eventType"] == "RUNNING"  # waiting on its gates
    throughput = next(d for d in latest["inputs"] if d["name"].endswith("weekly_throughput.csv"))
    ranged = {
        a["assertion"]: a for a in throughput["facets"]["dataQualityAssertions"]["assertions"]
    }
    assert ranged["cycle_time between 10 and 100"]["success"] is False
    assert ranged["cycle_time between 10 and 100"]["actual"] == "1"
    facet = latest["run"]["facets"]["prodex_gate_throughput_shape"]
    assert facet["status"] == "pending" and "decision" not in facet and "by" not in facet
    assert facet["confidence"] == "low"


def _without_client_facets(events: list[dict]) -> list[dict]:
    """The client adds run facets of its own when it emits (tags, its processing engine)."""
    for event in events:
        facets = event["run"]["facets"]
        for name in [n for n in facets if n in ("tags", "processing_engine")]:
            del facets[name]
    return events


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, json.loads(body)))
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Receiver.received
    server.shutdown()
    server.server_close()


def test_prodex_lineage_posts_to_a_lineage_server(demo_template, store, receiver, capsys):
    url, received = receiver
    run = _finished_demo(demo_template, store)
    assert cli_main(["--store", str(store.root), "lineage", run.id, "--url", url]) == 0
    assert "2 OpenLineage events (START, COMPLETE)" in capsys.readouterr().out
    assert [path for path, _ in received] == ["/api/v1/lineage"] * 2
    assert _without_client_facets([body for _, body in received]) == _as_json(
        px.openlineage_events(run)
    )
    assert all(validate_event(body) == [] for _, body in received)


def test_prodex_lineage_appends_to_a_file(demo_template, store, tmp_path):
    run = _finished_demo(demo_template, store)
    target = tmp_path / "lineage.jsonl"
    assert cli_main(["--store", str(store.root), "lineage", run.id, "--file", str(target)]) == 0
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert [e["eventType"] for e in lines] == ["START", "COMPLETE"]
    assert _without_client_facets(lines) == _as_json(px.openlineage_events(run))


def test_prodex_lineage_needs_a_destination(store, capsys):
    with pytest.raises(SystemExit):
        cli_main(["--store", str(store.root), "lineage", "run-x"])
    assert "one of the arguments --url --file is required" in capsys.readouterr().err
