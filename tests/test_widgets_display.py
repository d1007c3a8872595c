"""Notebook display hooks (with a stand-in for the kernel's shell) and render coalescing."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import pytest
from IPython.core.formatters import IPythonDisplayFormatter

import prodex_jupyter.widgets as pw
from prodex_jupyter.runtime import remove_run_opened
from prodex_jupyter.widgets import RunView, display
from prodex_jupyter.widgets.coalesce import Coalescer

from .test_widgets_support import branches, until


def test_plain_python_import_does_not_load_widgets():
    code = (
        "import sys, prodex_jupyter as px\n"
        "assert 'ipywidgets' not in sys.modules, 'ipywidgets imported'\n"
        "assert 'prodex_jupyter.widgets' not in sys.modules\n"
        "from prodex_jupyter.widgets import enable_notebook_display\n"
        "assert enable_notebook_display() is False  # no kernel here\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


class FakeKernel:
    def __init__(self) -> None:
        self.msg_type = "execute_request"

    def get_parent(self):
        return {"header": {"msg_type": self.msg_type}}


@pytest.fixture
def shell(monkeypatch):
    """A stand-in for the kernel's IPython shell; `shown` collects what `display()` got."""
    fake = SimpleNamespace(
        kernel=FakeKernel(),
        execution_count=1,
        display_formatter=SimpleNamespace(ipython_display_formatter=IPythonDisplayFormatter()),
        shown=[],
        static=[],  # the static copies displayed beside the views (raw mime bundles)
        updates=[],
        order=[],  # "raw" or "view", in the order displayed
    )
    monkeypatch.setattr(display, "_shell", lambda: fake)
    monkeypatch.setattr(display, "_enabled", False)
    monkeypatch.setattr(display, "_shown_in_cell", {})
    import IPython.display

    def fake_display(obj, raw=False, display_id=None):
        (fake.static if raw else fake.shown).append(obj)
        fake.order.append("raw" if raw else "view")
        if display_id:
            return SimpleNamespace(update=lambda obj, raw=False: fake.updates.append(obj))
        return None

    monkeypatch.setattr(IPython.display, "display", fake_display)
    yield fake
    remove_run_opened(display._on_run_opened)
    for view in fake.shown:
        view.close()


def test_starting_or_loading_a_run_in_a_cell_displays_its_view(shell, demo_template, store):
    assert pw.enable_notebook_display() is True
    assert pw.enable_notebook_display() is True  # idempotent: one listener
    run = demo_template.run(store=store)
    assert len(shell.shown) == 1 and isinstance(shell.shown[0], RunView)
    assert shell.shown[0].run is run
    run.wait(timeout=30)

    import prodex_jupyter as px

    shell.execution_count = 2
    loaded = px.load_run(run.id, store=store)
    assert len(shell.shown) == 2 and shell.shown[1].run is loaded

    # A bare `run` at the end of the same cell is not shown twice; in a later cell it is.
    formatter = shell.display_formatter.ipython_display_formatter
    assert formatter(loaded) is True
    assert len(shell.shown) == 2
    shell.execution_count = 3
    assert formatter(loaded) is True
    assert len(shell.shown) == 3 and shell.shown[2].run is loaded


def test_auto_display_can_be_switched_off(shell, demo_template, store, monkeypatch):
    pw.enable_notebook_display()
    monkeypatch.setattr(pw, "auto_display", False)
    run = demo_template.run(store=store)
    assert shell.shown == []
    monkeypatch.setattr(pw, "auto_display", True)
    with pw.suppressed():
        demo_template.run(store=store).wait(timeout=30)
    assert shell.shown == []
    # outside a cell (a button's click handler), nothing is displayed either
    shell.kernel.msg_type = "comm_msg"
    demo_template.run(store=store).wait(timeout=30)
    assert shell.shown == []
    run.wait(timeout=30)


def test_a_view_error_never_breaks_the_run(tmp_path, store, monkeypatch):
    run = branches(tmp_path, n=1).run(store=store)
    view = RunView(run)

    def broken(state):
        raise RuntimeError("render bug")

    monkeypatch.setattr(view.info, "update", broken)
    run.wait(timeout=30)
    run.confirm("g0")
    run.wait(timeout=30)
    assert run.status == "completed"
    until(lambda: "render bug" in view.error.value, what="the error shown in the view")
    view.close()


def test_bursts_are_coalesced_and_the_last_poke_is_rendered():
    renders: list[float] = []
    coalescer = Coalescer(lambda: renders.append(time.monotonic()), interval=0.05)
    last_poke = [0.0]

    def burst() -> None:
        for _ in range(500):
            coalescer.poke()
            last_poke[0] = time.monotonic()
            time.sleep(0.0005)

    thread = threading.Thread(target=burst)
    thread.start()
    thread.join()
    until(lambda: not coalescer.scheduled, timeout=2, what="the trailing render")
    assert 2 <= len(renders) < 40, len(renders)
    assert renders[-1] >= last_poke[0] - 0.05  # a render follows the burst's end


def test_a_shown_run_carries_its_static_html_kept_up_to_date(shell, tmp_path, store):
    display.enable_notebook_display()
    run = branches(tmp_path, n=1).run(store=store)  # shown by the run-opened hook
    run.wait(timeout=30)
    # first, before the view: its first paint, with the script that swaps it for the live view
    [first] = shell.static
    assert shell.order == ["raw", "view"]
    assert set(first) == {"text/html", "text/plain"}
    assert 'class="prodex-first-paint"' in first["text/html"] and "<script>" in first["text/html"]
    assert run.id in first["text/html"] and "<svg" in first["text/html"]
    # then, in its place, the static copy (with the first paint shown only while hydrating):
    # no script in what a notebook keeps
    bundle = shell.updates[0]
    assert set(bundle) == {"text/html", "text/plain"}
    assert run.id in bundle["text/html"] and f'px.load_run("{run.id}"' in bundle["text/html"]
    assert 'class="prodex-static-run"' in bundle["text/html"]
    assert 'class="prodex-first-paint"' in bundle["text/html"]
    assert "<svg" in bundle["text/html"]
    run.confirm("g0").wait(timeout=30)
    until(  # the decision renders at once, the completion up to a render interval later
        lambda: (
            shell.updates
            and "confirmed by" in shell.updates[-1]["text/html"]
            and "completed" in shell.updates[-1]["text/html"]
        ),
        what="the static copy to follow the decision and the completion",
    )
    last = shell.updates[-1]
    assert all("<script" not in update["text/html"] for update in shell.updates)
    assert "completed" in last["text/html"] and "completed" in last["text/plain"]
    assert "out0 = 10" in last["text/plain"]
