"""Layer 4: the engine that executes templates as runs, pausing at gates."""

from ..template import install_engine
from .compare import Comparison, PairDiff, TableDiff, compare
from .compute import InputError
from .deciders import DecisionRefused
from .engine import start_run
from .explain import display_state, why_not_produced
from .history import RunsTable, delete_run, runs
from .observers import on_run_opened, remove_run_opened
from .policy import Policy, confirm_high
from .prompts import Prompt, prompt_queue
from .resume import ResumeError
from .run import GateStateError, Run, RunEngineError, current_actor, load_run, note_required

install_engine(start_run)

__all__ = [
    "Comparison",
    "DecisionRefused",
    "GateStateError",
    "InputError",
    "PairDiff",
    "Policy",
    "Prompt",
    "ResumeError",
    "Run",
    "RunEngineError",
    "RunsTable",
    "TableDiff",
    "compare",
    "confirm_high",
    "current_actor",
    "delete_run",
    "display_state",
    "load_run",
    "note_required",
    "on_run_opened",
    "prompt_queue",
    "remove_run_opened",
    "runs",
    "start_run",
    "why_not_produced",
]
