"""The run view: the canvas with the Run Information panel beside it, the derivation drawer and
the gate-card area, all thin views over one run.

State flows one way: the run's events -> `render()` -> the widgets' traits, each re-rendered from
`run.state` (never from accumulated deltas). Clicks flow back as decisions on the run, which
become events and come back the same way. Bursts of events are coalesced into at most one
render per `RENDER_INTERVAL`; a render only sends what changed.

In a kernel, the gate cards (the most widget models after the canvas: a 200-node run's first
prompts hold about 200) are first rendered just after the cell that opened the view, so the
browser draws the canvas before it builds them.

In a kernel, the view also keeps a one-second clock on the kernel's loop while the run is not
finished: it advances the elapsed time while nodes compute, and, for a run executing in another
process (opened with `load_run`), folds in the events that process wrote.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import ipywidgets as w

from ..view.canvas import CanvasPlan
from ..view.run_info import deleted_sentence, header_html
from ..view.static import static_bundle
from ..view.text import esc
from .canvas import RunCanvas
from .closing import close_tree
from .coalesce import Coalescer
from .drawer import Drawer
from .gate_cards import GateCards
from .interrupted import ResumeBar
from .run_info import FINAL, RunInfo
from .style import Plain, style_widget

if TYPE_CHECKING:
    from ..runtime import Run
    from ..store import RunState

log = logging.getLogger(__name__)

RENDER_INTERVAL = 0.1  # s
STATIC_INTERVAL = 2.0  # s: the static snapshot follows new results at most this often
TICK = 1.0  # s
DELETION_CHECK = 5.0  # s: how often the view of a finished run looks whether it still exists


class RunView(w.VBox):
    """Everything about one run in a notebook output: `RunView(run)`."""

    def __init__(
        self, run: Run, *, canvas_height: int | None = None, plan: CanvasPlan | None = None
    ) -> None:
        self.run = run
        self.renders = 0
        self._rendered_seq = -1
        self.last_error: BaseException | None = None
        self._lock = threading.RLock()
        state = run.state
        # Classes are given at creation, values rendered before the first display where they
        # can be: every message before the view's display delays the canvas' first paint (the
        # browser handles the kernel's messages one after the other).
        plain = Plain()  # one layout and style model for the plain HTML widgets
        self.header = plain.html(header_html(state), "prodex-header")
        self.canvas = RunCanvas(state, height=canvas_height, plain=plain, plan=plan)
        self.info = RunInfo(state, plain)
        self.drawer = Drawer(run)
        self.cards = GateCards(run, on_decided=self._after_decision)
        self.resume_bar = ResumeBar(run, on_resumed=self._render_safely)
        self.error = plain.html("", "prodex-view-error")
        # says so when the run was deleted elsewhere
        self.notice = plain.html("", "prodex-view-notice")
        self.deleted = False
        top = w.HBox(
            [self.canvas, self.info], layout=w.Layout(width="100%"), _dom_classes=("prodex-top",)
        )
        super().__init__(
            [
                style_widget(),
                self.header,
                self.notice,
                self.resume_bar,
                top,
                self.drawer,
                self.cards,
                self.error,
            ],
            layout=w.Layout(width="100%"),
            _dom_classes=("prodex-run-view",),
        )
        self.canvas.on_node_click(self.open_node)
        self.drawer.on_hide(self._drawer_closed)

        self._coalescer = Coalescer(self._render_safely, RENDER_INTERVAL)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ticking = False
        self._clock_lock = threading.Lock()
        self._closed = False
        self._static_sink: Callable[[Mapping[str, str]], None] | None = None
        self._static_held = False  # the first copy waits (`keep_static`)
        self._static_key: tuple | None = None
        self._static_at = 0.0
        self._defer_cards()
        self._unsubscribe = run.subscribe(self._on_events)
        self.render()
        self._start_clock()

    # ------------------------------------------------------------------ render
    def render(self) -> None:
        """Re-render every part from the run's current state (only changes are sent)."""
        # Read the state before taking the view's lock: the engine calls listeners while it
        # holds the run's lock, so holding ours while waiting for the run's could deadlock.
        if self.deleted or self.check_deleted():
            return  # the run is gone: the view keeps showing it as it last was
        state = self.run.state
        with self._lock:
            if state.last_seq < self._rendered_seq:
                return  # another thread rendered a newer state meanwhile
            self._rendered_seq = state.last_seq
            self._render_header(state)
            self.info.update(state)
            self.canvas.update(state)
            self.cards.update(state)
            self.drawer.update(state)
            self.resume_bar.update()
            self.renders += 1
        self._push_static(state)

    def _defer_cards(self) -> None:
        """In a kernel (a running loop): the cards' first build waits until the cell is done
        (or until code reads them). Elsewhere they render with everything else."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self.cards.defer_first_build()
        loop.call_soon(self._show_cards)

    def _show_cards(self) -> None:
        if self._closed:
            return
        try:
            with self._lock:
                self.cards.build_now()
        except Exception as exc:  # on the kernel's loop: say so in the view, as a render does
            self.last_error = exc
            log.exception("prodex run view failed to show the cards of run %s", self.run.id)
            self.error.value = (
                f'<span class="prodex-error">The view could not update: {esc(exc)}</span>'
            )

    def _render_safely(self) -> None:
        # A listener's exception would reach the code that wrote the events (the engine):
        # a view must never break a run. Say so in the view instead.
        try:
            self.render()
        except Exception as exc:
            self.last_error = exc
            log.exception("prodex run view failed to render run %s", self.run.id)
            self.error.value = (
                f'<span class="prodex-error">The view could not update: {esc(exc)}</span>'
            )

    def _after_decision(self) -> None:
        self.resume_bar.after_interaction()  # an interrupted run continues in this kernel
        self._render_safely()

    def _on_events(self, _run: Run, _events: list) -> None:
        if self._closed:
            return
        try:
            self._coalescer.poke()
            self._start_clock()
        except Exception:  # never into the engine that wrote the events
            log.exception("prodex run view could not follow run %s", self.run.id)

    def _render_header(self, state: RunState) -> None:
        value = header_html(state)
        if self.header.value != value:
            self.header.value = value

    # ------------------------------------------------------------ static copy
    def keep_static(self, sink: Callable[[Mapping[str, str]], None]) -> None:
        """Hand `sink` the run's static rendering (`view.static`) now and whenever what it
        shows changes: status and decisions at once, new results at most every
        STATIC_INTERVAL s. The notebook display keeps it beside the widget.

        In a kernel, the first copy waits STATIC_INTERVAL s (what changed meanwhile goes with
        it): the browser builds the live view in those seconds, and every copy it receives
        then is HTML it renders again on the same thread (JupyterLab's table of contents
        parses it, MathJax scans it), which delayed the interactive canvas."""
        self._static_sink = sink
        self._static_key = None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._push_static(self.run.state)
            return
        self._static_held = True
        loop.call_later(STATIC_INTERVAL, self._release_static)

    def _release_static(self) -> None:
        self._static_held = False
        if not self._closed and not self.deleted:
            self._push_static(self.run.state)

    def _push_static(self, state: RunState) -> None:
        sink = self._static_sink
        if sink is None or self._static_held:
            return
        decisions = tuple((g.status, len(g.decisions)) for g in state.gates.values())
        settled = (state.status, decisions)
        key = (*settled, len(state.results))
        previous = self._static_key
        if key == previous:
            return
        now = time.monotonic()
        if (
            previous is not None
            and previous[:2] == settled
            and now - self._static_at < (STATIC_INTERVAL)
        ):
            return  # only results moved on, and recently pushed: the next change brings them
        self._static_key, self._static_at = key, now
        try:
            sink(static_bundle(state, self.run.store.load_table, str(self.run.store.root)))
        except Exception:  # a copy for later must never break the live view
            log.exception("prodex run view could not keep the static copy of %s", self.run.id)

    # ---------------------------------------------------------------- deletion
    def check_deleted(self) -> bool:
        """True (and the view says so) when the run was deleted from its store elsewhere."""
        if self.deleted:
            return True
        if self.run.is_executing_here or not self.run.deleted:
            return False  # a run executing here cannot be deleted (its lease refuses)
        self.mark_deleted()
        return True

    def mark_deleted(self) -> None:
        """Say the run is gone, in place of its status, and refuse every decision on it."""
        with self._lock:
            self.deleted = True
            sentence = deleted_sentence(self.run.id, str(self.run.store.root))
            self.notice.value = f'<div class="prodex-deleted">{esc(sentence)}</div>'
            self.info.show_deleted()
            self.cards.freeze(sentence)

    # ------------------------------------------------------------------ clicks
    def open_node(self, node_id: str) -> None:
        """Open the derivation drawer on a node (what a click on the canvas does)."""
        state = self.run.state
        with self._lock:
            self.drawer.show(node_id, state)
            self.canvas.select(node_id)

    def _drawer_closed(self) -> None:
        with self._lock:
            self.canvas.select(None)

    # ------------------------------------------------------------------- clock
    def _start_clock(self, delay: float = TICK) -> None:
        """In a kernel: tick once a second on its loop while the run goes on (then every few
        seconds, to notice a deletion elsewhere), until the view is closed."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        with self._clock_lock:
            loop = running or self._loop
            if self._ticking or self._closed or loop is None or loop.is_closed():
                return  # scripts and tests have no loop here: events alone drive the view
            self._loop = loop
            self._ticking = True
        if running is loop:
            loop.call_later(delay, self._tick)
        else:  # events written on another thread: schedule on the kernel's loop, safely
            loop.call_soon_threadsafe(loop.call_later, delay, self._tick)

    def _tick(self) -> None:
        with self._clock_lock:
            self._ticking = False
        if self._closed:
            return
        try:
            if self.check_deleted():
                return  # nothing will change any more
            if not self.run.is_executing_here:
                self.run.refresh()  # events another process wrote: listeners render them
            state = self.run.state
            with self._lock:
                self.info.update_elapsed(state)
                self.resume_bar.update()  # its executor may have died without a word
        except Exception:
            log.exception("prodex run view clock failed for run %s", self.run.id)
            return
        # A finished run changes only by a decision or a deletion: look less often.
        self._start_clock(TICK if state.status not in FINAL else DELETION_CHECK)

    # ------------------------------------------------------------------- close
    def close(self) -> None:
        """Stop observing the run and close every widget of the view."""
        self._closed = True
        self._coalescer.close()
        self._unsubscribe()
        for child in self.children:
            close_tree(child)
        super().close()

    def __repr__(self) -> str:
        return f"RunView({self.run!r})"
