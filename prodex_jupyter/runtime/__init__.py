"""Layer 4: the engine that executes templates as runs, pausing at gates."""

from ..template import install_engine
from .compare import Comparison, PairDiff, TableDiff, compare
from .compute import InputError
from .deciders import DecisionRefused
from .executor import EXECUTOR, Executor, start_run
from .explain import display_state, why_not_produced
from .history import RunsTable, delete_run, runs
from .interruption import is_interrupted, runnable_nodes
from .observers import on_run_opened, remove_run_opened
from .policy import Policy, confirm_high
from .prompts import Prompt, prompt_queue
from .resume import ResumeError
from .run import GateStateError, Run, RunEngineError, current_actor, load_run, note_required

install_engine(start_run)

__all__ = [
    "EXECUTOR",
    "Comparison",
    "DecisionRefused",
    "Executor",
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
    "is_interrupted",
    "load_run",
    "note_required",
    "on_run_opened",
    "prompt_queue",
    "remove_run_opened",
    "runnable_nodes",
    "runs",
    "start_run",
    "why_not_produced",
]
