"""One gate card: a prompt (one gate, or a batch of clean ones) with Confirm and Reject, or a
decided gate with who decided and when, and Reopen / Re-confirm.

Cards hold no run state: a click becomes a decision on the run (`run.confirm / reject /
reopen`); the card area then re-renders from the run's state, which retires this card and
shows the next. A card only keeps what a person is typing (a reason).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import ipywidgets as w

from ..runtime import GateStateError, Prompt, note_required
from ..store import GateRecord, RunNotFound
from ..view.cards import (
    batch_head_html,
    decision_html,
    decision_key,
    gate_html,
    note_question,
    note_question_missing,
    prompt_key,
)
from ..view.text import esc

if TYPE_CHECKING:
    from ..runtime import Run

DECISION_ERRORS = (GateStateError, LookupError, ValueError, RuntimeError)


def refusal_text(exc: BaseException) -> str:
    """The sentence of a refused decision (a KeyError's message, not its quoted repr)."""
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc)


def _button(description: str, css: str, style: str = "", icon: str = "") -> w.Button:
    button = w.Button(
        description=description,
        button_style=style,
        icon=icon,
        layout=w.Layout(width="auto", min_width="96px", height="30px"),
    )
    button.add_class(css)
    return button


class NoteForm(w.VBox):
    """The note box a decision that overrides something asks for (reject, reopen, re-confirm,
    confirm over a failing check): the question, the reason, submit and cancel. An empty
    reason is refused where it is typed, as the run refuses it."""

    def __init__(self, submit: Callable[[str, str, str], None]) -> None:
        self._submit = submit
        self.gate_id = ""
        self.decision = ""
        self.prompt = w.HTML()
        self.prompt.add_class("prodex-note-question")
        self.reason = w.Textarea(layout=w.Layout(width="100%", height="64px"))
        self.reason.add_class("prodex-note-reason")
        self.submit_button = _button("", "prodex-note-submit")
        self.cancel_button = _button("Cancel", "prodex-note-cancel")
        self.error = w.HTML()
        self.error.add_class("prodex-note-error")
        self.submit_button.on_click(lambda _b: self._on_submit())
        self.cancel_button.on_click(lambda _b: self.hide())
        self.reason.observe(self._typed, "value")
        buttons = w.HBox([self.submit_button, self.cancel_button, self.error])
        buttons.add_class("prodex-card-buttons")
        super().__init__([self.prompt, self.reason, buttons], layout=w.Layout(display="none"))
        self.add_class("prodex-note-form")

    def show(self, gate: GateRecord, decision: str) -> None:
        asked = note_question(gate, decision)
        style, icon = _SUBMIT_LOOK[decision]
        self.gate_id, self.decision = gate.gate_id, decision
        self.prompt.value = asked.question_html
        self.reason.placeholder = asked.placeholder
        self.submit_button.description = asked.submit
        self.submit_button.button_style = style
        self.submit_button.icon = icon
        self.error.value = ""
        self.layout.display = "flex"

    def hide(self) -> None:
        self.layout.display = "none"
        self.error.value = ""

    def _typed(self, change: dict) -> None:
        if change["new"].strip():
            self.error.value = ""  # the refusal no longer holds

    def freeze(self) -> None:
        self.hide()
        self.submit_button.disabled = True

    @property
    def visible(self) -> bool:
        return self.layout.display != "none"

    def _on_submit(self) -> None:
        reason = self.reason.value.strip()
        if not reason:
            missing = note_question_missing(self.decision)
            self.error.value = f'<span class="prodex-error">{esc(missing)}</span>'
            return
        self._submit(self.gate_id, self.decision, reason)


_VERBS = {"confirmed": "confirm", "rejected": "reject", "reopened": "reopen"}
_SUBMIT_LOOK = {"rejected": ("danger", "ban"), "reopened": ("warning", "undo")}
_SUBMIT_LOOK["confirmed"] = ("success", "check")


class GateCard(w.VBox):
    """A prompt from the checker's queue: evidence, confidence, Confirm and Reject."""

    def __init__(
        self, prompt: Prompt, run: Run, on_decided: Callable[[], None] | None = None
    ) -> None:
        self.prompt = prompt
        self.run = run
        self._on_decided = on_decided
        self.gate_ids = prompt.gate_ids
        self.key = prompt_key(prompt)
        # A confirmation that overrides a failing check asks for a note first.
        self.confirm_needs_note = not prompt.is_batch and bool(
            note_required(prompt.gates[0], "confirmed")
        )
        self.confirm_button = _button(
            f"Confirm all {len(prompt.gates)}"
            if prompt.is_batch
            else ("Confirm…" if self.confirm_needs_note else "Confirm"),
            "prodex-confirm",
            "success",
            "check",
        )
        self.confirm_button.on_click(lambda _b: self._on_confirm())
        self.message = w.HTML(layout=w.Layout(width="auto"))
        self.message.add_class("prodex-card-message")
        self.note_form = NoteForm(self._submit_note)
        self.reject_buttons: dict[str, w.Button] = {}
        if prompt.is_batch:
            body = self._batch_body(prompt)
            buttons = [self.confirm_button]
        else:
            gate = prompt.gates[0]
            body = [w.HTML(gate_html(gate, batch=False))]
            reject = _button("Reject…", "prodex-reject", "", "times")
            reject.on_click(lambda _b, g=gate: self._open_reject(g))
            self.reject_buttons[gate.gate_id] = reject
            buttons = [self.confirm_button, reject]
        row = w.HBox([*buttons, self.message])
        row.add_class("prodex-card-buttons")
        super().__init__([*body, row, self.note_form])
        self.add_class("prodex-gate-card")
        self.add_class("prodex-prompt")
        if prompt.is_batch:
            self.add_class("prodex-batch")
        for gate_id in self.gate_ids:
            self.add_class(f"prodex-gate-{gate_id}")

    def _batch_body(self, prompt: Prompt) -> list[w.Widget]:
        head = w.HTML(batch_head_html(prompt))
        rows: list[w.Widget] = [head]
        for gate in prompt.gates:
            reject = _button("Reject…", "prodex-reject", "", "times")
            reject.add_class(f"prodex-reject-{gate.gate_id}")
            reject.on_click(lambda _b, g=gate: self._open_reject(g))
            self.reject_buttons[gate.gate_id] = reject
            item = w.VBox([w.HTML(gate_html(gate, batch=True)), reject])
            item.add_class("prodex-batch-gate")
            rows.append(item)
        return rows

    def freeze(self) -> None:
        """Every button off for good (the run is gone)."""
        self._buttons(False)
        self.note_form.freeze()

    def _open_reject(self, gate: GateRecord) -> None:
        self.note_form.show(gate, "rejected")

    def _on_confirm(self) -> None:
        if self.confirm_needs_note:
            self.note_form.show(self.prompt.gates[0], "confirmed")
        else:
            self._confirm(self.gate_ids)

    def _buttons(self, enabled: bool) -> None:
        self.confirm_button.disabled = not enabled
        for button in self.reject_buttons.values():
            button.disabled = not enabled

    def _confirm(self, gate_ids: tuple[str, ...]) -> None:
        self._decide(lambda: [self.run.confirm(g) for g in gate_ids])

    def _submit_note(self, gate_id: str, decision: str, reason: str) -> None:
        verb = getattr(self.run, _VERBS[decision])
        self._decide(lambda: verb(gate_id, note=reason))

    def _decide(self, action: Callable[[], object]) -> None:
        self._buttons(False)
        self.message.value = ""
        try:
            action()
        except DECISION_ERRORS as exc:  # e.g. decided meanwhile from another process
            self.message.value = f'<span class="prodex-error">{esc(refusal_text(exc))}</span>'
            self._buttons(True)
            if isinstance(exc, RunNotFound) and self._on_decided is not None:
                self._on_decided()  # the view notices the deletion and says so
            return
        if self._on_decided is not None:
            self._on_decided()  # show the outcome now, not at the next coalesced render


class DecisionCard(w.VBox):
    """A decided gate: confirmed or rejected, by whom, when, why; Reopen or Re-confirm."""

    def __init__(
        self, gate: GateRecord, run: Run, on_decided: Callable[[], None] | None = None
    ) -> None:
        self.gate = gate
        self.run = run
        self._on_decided = on_decided
        self.gate_ids = (gate.gate_id,)
        self.key = decision_key(gate)
        self.summary = w.HTML(decision_html(gate))
        self.summary.add_class("prodex-decision-summary")
        # Both take a decision back: each asks for a reason first (Reopen: "Reopen? ...").
        if gate.status == "confirmed":
            self.action = _button("Reopen…", "prodex-reopen", "", "undo")
            self.action.tooltip = "Take the confirmation back: new downstream work waits again"
            decision = "reopened"
        else:
            self.action = _button("Re-confirm…", "prodex-reconfirm", "success", "check")
            self.action.tooltip = "Confirm after all: downstream nodes proceed on this run"
            decision = "confirmed"
        self.note_form = NoteForm(self._submit_note)
        self.action.on_click(lambda _b: self.note_form.show(gate, decision))
        self.message = w.HTML(layout=w.Layout(width="auto"))  # not ipywidgets' 300 px
        self.summary.layout.flex = "1 1 auto"
        row = w.HBox([self.summary, self.message, self.action])
        row.add_class("prodex-decided-row")
        super().__init__([row, self.note_form])
        self.add_class("prodex-gate-card")
        self.add_class("prodex-decided")
        self.add_class(f"prodex-decided-{gate.status}")
        self.add_class(f"prodex-gate-{gate.gate_id}")

    def freeze(self) -> None:
        """The button off for good (the run is gone)."""
        self.action.disabled = True
        self.note_form.freeze()

    def _submit_note(self, gate_id: str, decision: str, reason: str) -> None:
        verb = getattr(self.run, _VERBS[decision])
        self._decide(lambda: verb(gate_id, note=reason))

    def _decide(self, action: Callable[[], object]) -> None:
        self.action.disabled = True
        self.note_form.submit_button.disabled = True
        try:
            action()
        except DECISION_ERRORS as exc:
            self.message.value = f'<span class="prodex-error">{esc(refusal_text(exc))}</span>'
            self.action.disabled = False
            self.note_form.submit_button.disabled = False
            if isinstance(exc, RunNotFound) and self._on_decided is not None:
                self._on_decided()  # the view notices the deletion and says so
            return
        if self._on_decided is not None:
            self._on_decided()
