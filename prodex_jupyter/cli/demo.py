"""`prodex demo`: the plant KPI example end to end, with a scripted analyst deciding the gates.

It shows the whole loop in a terminal: evidence and confidence per gate, the decisions taken (the
policy confirms high-confidence gates; the scripted analyst decides the rest from the evidence and
says why), then each output value with its derivation, and a verification of the record.
"""

from __future__ import annotations

from pathlib import Path

from ..runtime import Run, confirm_high, start_run
from ..store import GateRecord, RunStore, verify_run
from ..template import load_template
from . import render

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plant_kpis.prodex.yaml"
ANALYST = "demo-analyst"


def analyst_decides(run: Run, gate: GateRecord) -> bool:
    """Confirm when every automatic check passed; otherwise reject, naming what failed."""
    failed = [c for c in gate.evidence.get("checks", []) if c.get("status") == "fail"]
    if failed:
        note = "; ".join(c.get("message") or c.get("bullet", "") for c in failed)
        run.reject(gate.gate_id, note=f"failed checks: {note}", by=ANALYST)
    else:
        unverified = [c for c in gate.evidence.get("checks", []) if c.get("status") == "manual"]
        note = "evidence reviewed" + (
            f"; {len(unverified)} manual check(s) looked at" if unverified else ""
        )
        run.confirm(gate.gate_id, note=note, by=ANALYST)
    print(render.decision_text(run.gates[gate.gate_id]))
    return True


def run_demo(store: RunStore, template_path: Path = EXAMPLE) -> int:
    template = load_template(template_path)
    print(f"prodex demo: {template.id} — {template.description}\n")
    print(f"Template {template_path} ({len(template)} nodes, {len(template.gates)} gates)")
    run = start_run(template, store=store, policy=confirm_high)
    print(f"Run {run.id} started (store: {store.root})")
    run.subscribe(_progress)
    while True:
        run.wait()
        prompts = run.prompts
        if not prompts:
            break
        for prompt in prompts:
            print()
            print(render.prompt_text(prompt))
            for gate in prompt.gates:
                analyst_decides(run, gate)
        print()
    print()
    print(render.run_text(run))
    problems = verify_run(store, run.id)
    print()
    print(
        "Record verified: hash chain and artifacts intact"
        if not problems
        else "Record verification FAILED:\n" + "\n".join(f"  {p}" for p in problems)
    )
    print(f"\nReview it again with: prodex show {run.id}")
    return 0 if run.status in ("completed", "completed_partial") and not problems else 1


def _progress(run: Run, events: list) -> None:
    for stored in events:
        line = render.event_line(stored.kind, stored.event.payload())
        if line:
            print(line, flush=True)
