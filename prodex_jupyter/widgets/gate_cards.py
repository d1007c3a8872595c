"""The gate-card area (the spec's chat panel): one card per prompt of the checker's queue, then
the decided gates with Reopen / Re-confirm.

The queue (`runtime.prompt_queue`) decides what is asked now: gates pending on independent
branches appear together, a gate below another pending gate waits for it. Cards are keyed by
their gates and decisions, so a re-render keeps a card (and a half-typed rejection reason)
while its gates are unchanged, and replaces it when they change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import ipywidgets as w

from ..store import RunState
from ..view.cards import (
    DECIDED_SHOWN,
    card_groups,
    cards_title,
    decision_key,
    later_note,
    prompt_key,
)
from ..view.text import esc
from .closing import close_tree
from .gate_card import DecisionCard, GateCard

if TYPE_CHECKING:
    from ..runtime import Run


class GateCards(w.VBox):
    def __init__(self, run: Run, on_decided: Callable[[], None] | None = None) -> None:
        self.run = run
        self._on_decided = on_decided
        self.header = w.HTML()
        self.header.add_class("prodex-cards-header")
        self.footer = w.HTML()
        self.footer.add_class("prodex-cards-footer")
        self.decided_header = w.HTML()
        self.show_all_button = w.Button(
            description="Show all decided", layout=w.Layout(width="auto", height="28px")
        )
        self.show_all_button.add_class("prodex-show-decided")
        self.show_all_button.on_click(lambda _b: self._toggle_all())
        self.show_all = False
        self._cards: dict[tuple, GateCard | DecisionCard] = {}
        self._state: RunState | None = None
        self._deferred = False
        super().__init__([])
        self.add_class("prodex-gate-cards")

    @property
    def prompt_cards(self) -> list[GateCard]:
        self.build_now()
        return [c for c in self.children if isinstance(c, GateCard)]

    @property
    def decision_cards(self) -> list[DecisionCard]:
        self.build_now()
        return [c for c in self.children if isinstance(c, DecisionCard)]

    def defer_first_build(self) -> None:
        """Keep the state `update` is given without building cards until `build_now`: the run
        view's first display then sends the canvas before the cards' widget models. Code that
        reads the cards meanwhile gets them built at once."""
        self._deferred = True

    def build_now(self) -> None:
        """End a deferral: build the cards for the last state given."""
        if self._deferred:
            self._deferred = False
            if self._state is not None:
                self.update(self._state)

    def update(self, state: RunState) -> None:
        self._state = state
        if self._deferred:
            return
        prompts, waiting, decided = card_groups(state)
        cards: dict[tuple, GateCard | DecisionCard] = {}
        children: list[w.Widget] = []

        title, note = cards_title(state, prompts)
        self._set(
            self.header,
            f'<div class="prodex-section-title">{esc(title)}</div>'
            + (f'<div class="prodex-section-note">{esc(note)}</div>' if note else ""),
        )
        children.append(self.header)
        for prompt in prompts:
            key = prompt_key(prompt)
            card = self._cards.get(key) or GateCard(prompt, self.run, self._on_decided)
            cards[key] = card
            children.append(card)
        later = later_note(state, waiting)
        if later:
            self._set(self.footer, f'<div class="prodex-section-note">{esc(later)}</div>')
            children.append(self.footer)

        if decided:
            self._set(
                self.decided_header,
                f'<div class="prodex-section-title">Decided ({len(decided)})</div>',
            )
            children.append(self.decided_header)
            shown = decided if self.show_all else decided[:DECIDED_SHOWN]
            for gate in shown:
                key = decision_key(gate)
                card = self._cards.get(key) or DecisionCard(gate, self.run, self._on_decided)
                cards[key] = card
                children.append(card)
            if len(decided) > DECIDED_SHOWN:
                self.show_all_button.description = (
                    "Show fewer" if self.show_all else f"Show all {len(decided)} decided"
                )
                children.append(self.show_all_button)

        for key, card in self._cards.items():
            if key not in cards:
                close_tree(card)  # its gates changed: the front end drops the old card
        self._cards = cards
        if tuple(children) != self.children:
            self.children = tuple(children)

    def freeze(self, sentence: str) -> None:
        """No decision any more (the run was deleted): every button off, the reason said."""
        for card in self._cards.values():
            card.freeze()
        self.show_all_button.disabled = True
        self._set(
            self.header,
            '<div class="prodex-section-title">No decision possible</div>'
            f'<div class="prodex-section-note">{esc(sentence)}</div>',
        )
        if self.header not in self.children:
            self.children = (self.header, *self.children)

    def _toggle_all(self) -> None:
        self.show_all = not self.show_all
        if self._on_decided is not None:
            self._on_decided()  # the view re-renders (under its lock)
        else:
            self.update(self.run.state)

    @staticmethod
    def _set(widget: w.HTML, value: str) -> None:
        if widget.value != value:
            widget.value = value
