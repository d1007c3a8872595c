"""What the gate-card area shows (the spec's chat panel): a card per prompt of the checker's queue
(one gate, or a batch of clean ones, with its evidence), the decided gates with who, when and
why, and the titles and notes around them. HTML strings, for the notebook's cards and the
JupyterLab run panel alike; the buttons are each front end's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..runtime import Prompt, prompt_queue
from ..runtime.run import failing_checks
from ..store import GateRecord, RunState
from .evidence import evidence_html, summary_without_drift
from .text import CONFIDENCE_TONES, GATE_TONES, chip, clock, esc

DECIDED_SHOWN = 3


def confidence_chip(confidence: str) -> str:
    tone = CONFIDENCE_TONES.get(confidence, "grey")
    return chip(f"Confidence: {confidence or '?'}", tone, f"prodex-confidence-{confidence}")


def gate_head_html(gate: GateRecord, *, confidence: bool = True) -> str:
    return (
        '<div class="prodex-card-head">'
        f'<span class="prodex-card-name">{esc(gate.name)}</span>'
        f'<span class="prodex-card-node">gate <code>{esc(gate.gate_id)}</code> on node '
        f"<code>{esc(gate.node_id)}</code></span>"
        + (confidence_chip(gate.confidence) if confidence else "")
        + "</div>"
    )


def gate_html(gate: GateRecord, *, batch: bool) -> str:
    """One gate of a prompt: name, description, summary and its evidence (folded in a batch)."""
    evidence = gate.evidence or {}
    parts = [gate_head_html(gate)]
    if gate.description:
        parts.append(f'<div class="prodex-card-desc">{esc(gate.description)}</div>')
    parts.append(rules_html(gate))
    summary = summary_without_drift(evidence, gate.summary)
    parts.append(f'<div class="prodex-summary">{esc(summary)}</div>')
    body = evidence_html(evidence, open_details=not batch)
    if batch:
        body = f"<details><summary>Evidence</summary>{body}</details>"
    parts.append(body)
    return "".join(parts)


def rules_html(gate: GateRecord) -> str:
    """Who may decide the gate (its deciders and four-eyes rules); nothing when anyone may."""
    rules = []
    if gate.deciders:
        rules.append(f"Decided only by {esc(', '.join(gate.deciders))}")
    if gate.four_eyes:
        rules.append("Four eyes: whoever started the run cannot confirm it")
    if not rules:
        return ""
    return f'<div class="prodex-card-desc prodex-gate-rules">{" · ".join(rules)}.</div>'


def batch_head_html(prompt: Prompt) -> str:
    """The head of a batch of clean gates: how many, and what confirming them records."""
    return (
        '<div class="prodex-card-head"><span class="prodex-card-name">'
        f"{len(prompt.gates)} clean gates, batched</span>"
        f"{confidence_chip(prompt.confidence)}</div>"
        '<div class="prodex-card-desc">Each passed every check with high confidence. '
        "Confirming records one decision per gate; reject any one on its own.</div>"
    )


def decision_html(gate: GateRecord) -> str:
    """A decided gate: confirmed or rejected, by whom, when, why, and how many earlier decisions."""
    decision = gate.last_decision
    verb = "Confirmed" if gate.status == "confirmed" else "Rejected"
    who = f" by <b>{esc(decision.by)}</b> at {esc(clock(decision.at))}" if decision else ""
    note = (
        f'<div class="prodex-decision">“{esc(decision.note)}”</div>'
        if decision and decision.note
        else ""
    )
    earlier = len(gate.decisions) - 1
    history = (
        f' <span class="prodex-section-note">({earlier} earlier decision'
        f"{'s' if earlier > 1 else ''})</span>"
        if earlier > 0
        else ""
    )
    return (
        '<div class="prodex-card-head">'
        f"{chip(verb, GATE_TONES[gate.status], 'prodex-decision-chip')}"
        f'<span class="prodex-card-name">{esc(gate.name)}</span>'
        f'<span class="prodex-decision">{who}{history}</span></div>{note}'
    )


@dataclass(frozen=True)
class NoteQuestion:
    """What a front end asks before a decision that needs a note (see `runtime.note_required`)."""

    question_html: str
    placeholder: str
    submit: str


_KEPT = "The reason is kept in the run record (required)."
_VERBS = {"confirmed": "confirm", "rejected": "reject", "reopened": "reopen"}


def note_question(gate: GateRecord, decision: str) -> NoteQuestion:
    """The question, the reason box's hint and the submit label for `decision` on `gate`:
    Reopen asks "Reopen? Values already produced stay" first; a confirmation over a failing
    check names the check."""
    name = f"<b>{esc(gate.name)}</b>"
    if decision == "rejected":
        return NoteQuestion(
            f"Reject {name}: downstream nodes stay blocked.",
            f"What is wrong? {_KEPT}",
            "Reject gate",
        )
    if decision == "reopened":
        return NoteQuestion(
            f"Reopen? Values already produced stay; new work downstream of {name} waits until "
            "it is confirmed again.",
            f"Why reopen it? {_KEPT}",
            "Reopen gate",
        )
    if gate.status == "rejected":
        question = f"Re-confirm {name} after its rejection? Downstream nodes proceed on this run."
    else:
        failing = failing_checks(gate)
        what = (
            "its check failed: " + "; ".join(esc(b) for b in failing[:3])
            if failing
            else "its confidence is low"
        )
        question = f"Confirm {name} although {what}?"
    return NoteQuestion(question, f"Why confirm it? {_KEPT}", "Confirm gate")


def note_question_missing(decision: str) -> str:
    """What a front end says when the reason box is submitted empty."""
    return f"A reason is required to {_VERBS[decision]} this gate."


def prompt_key(prompt: Prompt) -> tuple:
    return ("prompt", *((g.gate_id, g.posed_seq, len(g.decisions)) for g in prompt.gates))


def decision_key(gate: GateRecord) -> tuple:
    last = gate.last_decision
    return ("decided", gate.gate_id, gate.status, last.seq if last else None)


def card_groups(
    state: RunState, prompts: list[Prompt] | None = None
) -> tuple[list[Prompt], list[GateRecord], list[GateRecord]]:
    """What the card area holds: the prompts of the queue (`prompts`, when the caller has the
    state's queue), the pending gates asked later (below another pending gate), and the decided
    gates, newest decision first."""
    prompts = prompt_queue(state) if prompts is None else prompts
    asked = {g for p in prompts for g in p.gate_ids}
    waiting = [g for g in state.pending_gates if g.gate_id not in asked]
    decided = sorted(
        (g for g in state.gates.values() if g.resolved),
        key=lambda g: g.last_decision.seq if g.last_decision else 0,
        reverse=True,
    )
    return prompts, waiting, decided


def cards_title(state: RunState, prompts: list[Prompt]) -> tuple[str, str]:
    """The card area's title and note: how many prompts need a decision, or why none does."""
    n = len(prompts)
    if n:
        title = "Needs your decision" if n == 1 else f"{n} prompts need your decision"
        note = (
            "These gates sit on independent branches; each needs its own decision." if n > 1 else ""
        )
        return title, note
    return idle_title(state)


def idle_title(state: RunState) -> tuple[str, str]:
    k, n = state.gates_resolved
    if not n:
        return "No gates on this pipeline", ""
    if state.status in ("completed", "completed_partial", "failed"):
        return "No gate needs a decision", f"{k} of {n} gates resolved."
    not_reached = sum(g.status == "not_reached" for g in state.gates.values())
    return (
        "No gate needs a decision right now",
        f"{not_reached} gate{'s' if not_reached != 1 else ''} not reached yet; "
        "a card appears here when the checker poses one.",
    )


def later_note(state: RunState, waiting: list) -> str:
    if not waiting:
        return ""
    names = ", ".join(g.name for g in waiting[:3]) + ("…" if len(waiting) > 3 else "")
    return (
        f"{len(waiting)} more pending gate{'s' if len(waiting) > 1 else ''} "
        f"({names}) will be asked once the gate upstream of {'them' if len(waiting) > 1 else 'it'}"
        " is decided."
    )
