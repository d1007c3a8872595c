"""A run as OpenLineage events, for Marquez, DataHub or any other lineage server.

Built with the `openlineage-python` client's own facet classes, so what goes out is what its
transports (file, HTTP) and consumers expect. The mapping:

- job: the template (namespace `prodex` unless given, name the template id), its description and
  a job-type facet (BATCH, integration PRODEX, job type PIPELINE);
- run: a UUID derived from the run id and its start (the same run always gets the same UUID),
  a nominal-time facet, an error-message facet when a node failed, a `prodex_run` facet (run id,
  status, template fingerprint) and one `prodex_gate_<gate_id>` facet per gate (gate_id, name,
  decision, by, at, note, confidence), the custom facets prefixed with our name as the spec asks;
- inputs: each source read, as a `file` dataset named by its path, with its schema (from the
  gate evidence), its content hash as the dataset version, `dataQualityMetrics` from the gate
  evidence (rows, bytes, per column nulls, distinct values, min and max when numeric) and
  `dataQualityAssertions` from each check of its gate that ran (pass or fail);
- outputs: each output node, as a dataset in the `prodex` namespace named `<template>.<node>`,
  with its schema, its artifact hash as the version, and its row count.

Two events per run: START at its creation, then COMPLETE / FAIL when it has settled, RUNNING
while it has not (a run waiting on a gate is running, from a lineage server's point of view).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import attr
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    RunFacet,
    data_quality_assertions_dataset,
    data_quality_metrics_input_dataset,
    dataset_version_dataset,
    documentation_job,
    error_message_run,
    job_type_job,
    nominal_time_run,
    output_statistics_output_dataset,
    schema_dataset,
)
from openlineage.client.uuid import generate_static_uuid

from ..store import GateRecord, InputRecord, Result
from ..store import RunState as StoredRunState
from ..template.instructions import InstructionError, parse_bullet

PRODUCER = "https://pypi.org/project/prodex-jupyter/"
DEFAULT_NAMESPACE = "prodex"
_FACET_SCHEMA = "https://pypi.org/project/prodex-jupyter/#openlineage-facets"
_FINAL = {"completed": RunState.COMPLETE, "completed_partial": RunState.COMPLETE}


@attr.define
class ProdexGateRunFacet(RunFacet):
    """A gate of the run and where it stands: OpenLineage has no facet for a human checkpoint."""

    gate_id: str
    name: str
    node_id: str
    status: str
    decision: str | None = attr.field(default=None)
    by: str | None = attr.field(default=None)
    at: str | None = attr.field(default=None)
    note: str | None = attr.field(default=None)
    confidence: str | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return f"{_FACET_SCHEMA}/ProdexGateRunFacet"


@attr.define
class ProdexRunRunFacet(RunFacet):
    """The prodex record behind the OpenLineage run: its id in the store, status, fingerprint."""

    run_id: str
    status: str
    fingerprint: str
    _additional_skip_redact: ClassVar[list[str]] = ["run_id", "fingerprint"]

    @staticmethod
    def _get_schema() -> str:
        return f"{_FACET_SCHEMA}/ProdexRunRunFacet"


def openlineage_events(run: Any, namespace: str = DEFAULT_NAMESPACE) -> list[RunEvent]:
    """The run as OpenLineage events (START, then RUNNING / COMPLETE / FAIL), ready to emit.

    `run` is a `px.Run` (or anything with a `.state` RunState)."""
    state: StoredRunState = run.state
    job = _job(state, namespace)
    start = RunEvent(
        eventType=RunState.START,
        eventTime=state.created_at,
        run=Run(runId=str(_run_uuid(state)), facets=_run_facets(state, final=False)),
        job=job,
        inputs=[],
        outputs=[],
        producer=PRODUCER,
    )
    status = state.status
    if status in _FINAL:
        kind = _FINAL[status]
    elif status == "failed":
        kind = RunState.FAIL
    else:
        kind = RunState.RUNNING
    latest = RunEvent(
        eventType=kind,
        eventTime=state.updated_at,
        run=Run(runId=str(_run_uuid(state)), facets=_run_facets(state, final=True)),
        job=job,
        inputs=[_input(state, record) for record in state.inputs.values()],
        outputs=[
            _output(state, state.results[node_id], namespace)
            for node_id, node in state.nodes.items()
            if node.kind == "output" and node_id in state.results
        ],
        producer=PRODUCER,
    )
    return [start, latest]


def _run_uuid(state: StoredRunState) -> Any:
    return generate_static_uuid(
        datetime.fromisoformat(state.created_at), f"prodex:{state.run_id}".encode()
    )


def _job(state: StoredRunState, namespace: str) -> Job:
    facets: dict[str, Any] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="PRODEX", jobType="PIPELINE", producer=PRODUCER
        )
    }
    description = state.template.get("description")
    if description:
        facets["documentation"] = documentation_job.DocumentationJobFacet(
            description=description, producer=PRODUCER
        )
    return Job(namespace=namespace, name=state.template_id, facets=facets)


def _run_facets(state: StoredRunState, *, final: bool) -> dict[str, Any]:
    facets: dict[str, Any] = {
        "nominalTime": nominal_time_run.NominalTimeRunFacet(
            nominalStartTime=state.created_at, producer=PRODUCER
        ),
        "prodex_run": ProdexRunRunFacet(
            run_id=state.run_id,
            status=state.status if final else "pending",
            fingerprint=state.fingerprint,
            producer=PRODUCER,
        ),
    }
    if not final:
        return facets
    for gate in state.gates.values():
        facets[f"prodex_gate_{gate.gate_id}"] = _gate_facet(gate)
    failed = [n for n in state.nodes.values() if n.state == "failed"]
    if failed:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message="; ".join(f"{n.node_id}: {n.error}" for n in failed),
            programmingLanguage="python",
            stackTrace=failed[0].traceback or None,
            producer=PRODUCER,
        )
    return facets


def _gate_facet(gate: GateRecord) -> ProdexGateRunFacet:
    last = gate.last_decision
    return ProdexGateRunFacet(
        gate_id=gate.gate_id,
        name=gate.name,
        node_id=gate.node_id,
        status=gate.status,
        decision=last.decision if last else None,
        by=last.by if last else None,
        at=last.at if last else None,
        note=last.note if last else None,
        confidence=gate.confidence or None,
        producer=PRODUCER,
    )


def _input(state: StoredRunState, record: InputRecord) -> InputDataset:
    gate = next((g for g in state.gates.values() if g.node_id == record.node_id), None)
    evidence = dict(gate.evidence) if gate is not None else {}
    columns = evidence.get("columns") or []
    facets: dict[str, Any] = {
        "version": dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=record.sha256, producer=PRODUCER
        )
    }
    if not columns and record.node_id in state.results:
        columns = [{"name": n, "type": t} for n, t in state.results[record.node_id].columns]
    if columns:
        facets["schema"] = _schema(columns)
    assertions = [_assertion(check) for check in evidence.get("checks", [])]
    assertions = [a for a in assertions if a is not None]
    if assertions:
        facets["dataQualityAssertions"] = (
            data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
                assertions=assertions, producer=PRODUCER
            )
        )
    input_facets: dict[str, Any] = {}
    if evidence:
        input_facets["dataQualityMetrics"] = (
            data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet(
                rowCount=evidence.get("row_count", record.rows),
                bytes=record.size,
                columnMetrics={c["name"]: _column_metrics(c) for c in columns},
                producer=PRODUCER,
            )
        )
    return InputDataset(namespace="file", name=record.path, facets=facets, inputFacets=input_facets)


def _schema(columns: list[dict[str, Any]]) -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(name=c["name"], type=c.get("type"))
            for c in columns
        ],
        producer=PRODUCER,
    )


def _column_metrics(column: dict[str, Any]) -> Any:
    def number(value: Any) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None  # text and timestamps have a min and max, but the facet wants numbers
        return float(value)

    return data_quality_metrics_input_dataset.ColumnMetrics(
        nullCount=column.get("null_count"),
        distinctCount=column.get("distinct_count"),
        min=number(column.get("min")),
        max=number(column.get("max")),
    )


def _assertion(check: dict[str, Any]) -> Any:
    """A check that ran (pass, fail, warn); manual and skipped checks asserted nothing."""
    status = check.get("status")
    if status not in ("pass", "fail", "warn"):
        return None
    try:
        spec = parse_bullet(check["bullet"])
    except InstructionError:  # a custom check's bullet: no known form
        spec = None
    column = getattr(spec, "column", "") or None
    columns = getattr(spec, "columns", ())
    if column is None and len(columns) == 1:
        column = columns[0]
    return data_quality_assertions_dataset.Assertion(
        assertion=check["bullet"],
        success=status != "fail",
        column=column,
        name=type(spec).__name__ if spec is not None else None,
        severity="warn" if status == "warn" else "error",
        description=check.get("message") or None,
        actual=None if check.get("unexpected_count") is None else str(check["unexpected_count"]),
    )


def _output(state: StoredRunState, result: Result, namespace: str) -> OutputDataset:
    facets: dict[str, Any] = {}
    if result.columns:
        facets["schema"] = _schema([{"name": n, "type": t} for n, t in result.columns])
    if result.artifact:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=result.artifact, producer=PRODUCER
        )
    output_facets: dict[str, Any] = {}
    if result.rows is not None:
        output_facets["outputStatistics"] = (
            output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=result.rows, producer=PRODUCER
            )
        )
    return OutputDataset(
        namespace=namespace,
        name=f"{state.template_id}.{result.node_id}",
        facets=facets,
        outputFacets=output_facets,
    )


def emit_lineage(
    run: Any, *, url: str | None = None, file: str | None = None, namespace: str = DEFAULT_NAMESPACE
) -> list[RunEvent]:
    """Send the run's events with the client's HTTP transport (`url`, e.g. Marquez) or append
    them to a JSON-lines file (`file`). Returns the events sent."""
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.file import FileConfig, FileTransport
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    if (url is None) == (file is None):
        raise ValueError("emit_lineage needs exactly one of url= (HTTP) or file= (JSON lines)")
    if url is not None:
        transport: Any = HttpTransport(HttpConfig(url=url))
    else:
        transport = FileTransport(FileConfig(log_file_path=str(file), append=True))
    client = OpenLineageClient(transport=transport)
    events = openlineage_events(run, namespace)
    for event in events:
        client.emit(event)
    return events
