"""Who may decide a gate: the gate's `deciders` and `four_eyes` rules, checked before a decision
is written (a refused decision writes nothing).

- `deciders: [alice, "group:qa"]`: only those users, or members of those groups, decide the gate
  (confirm, reject or reopen). Groups are the operating system's (`grp`: listed members, and
  users whose primary group it is), which on JupyterHub are the hub's users' groups.
- `four_eyes: true`: the person who started the run cannot confirm its gates (they may still
  reject or reopen them: stopping a run needs no second pair of eyes).
- A policy is no person: it leaves gates with either rule to one.

The rules are copied into the run record when the run starts, so a run is judged by the rules it
was started under, whatever the template says later.
"""

from __future__ import annotations

import grp
import pwd
from typing import Any

from ..store import GateRecord
from ..template import Gate


class DecisionRefused(PermissionError):
    """The person is not allowed to make this decision on this gate; nothing was written."""


def gate_rules(gate: Gate) -> dict[str, Any]:
    """The gate's rules as recorded in the run (nothing when it has none)."""
    rules: dict[str, Any] = {}
    if gate.deciders:
        rules["deciders"] = list(gate.deciders)
    if gate.four_eyes:
        rules["four_eyes"] = True
    return rules


def needs_a_person(gate: GateRecord) -> bool:
    """Gates a policy must leave alone."""
    return bool(gate.deciders) or gate.four_eyes


def refusal(gate: GateRecord, decision: str, actor: str, started_by: str, run_id: str) -> str:
    """Why `actor` may not make `decision` on `gate`, or "" when they may."""
    verb = {"confirmed": "confirm", "rejected": "reject", "reopened": "reopen"}[decision]
    if gate.deciders and not any(_is(actor, who) for who in gate.deciders):
        return (
            f"{actor} may not {verb} gate {gate.gate_id!r} of run {run_id}: the gate's deciders "
            f"rule allows only {', '.join(gate.deciders)}"
        )
    if gate.four_eyes and decision == "confirmed" and started_by and actor == started_by:
        return (
            f"{actor} may not confirm gate {gate.gate_id!r} of run {run_id}: the gate's four_eyes "
            f"rule says the person who started the run ({started_by}) cannot confirm its gates; "
            "someone else must"
        )
    return ""


def _is(actor: str, who: str) -> bool:
    if who.startswith("group:"):
        return actor in group_members(who.removeprefix("group:"))
    return actor == who


def group_members(name: str) -> set[str]:
    """The users of an operating-system group: its listed members and whose primary group it is."""
    try:
        group = grp.getgrnam(name)
    except KeyError:
        return set()
    members = set(group.gr_mem)
    members.update(p.pw_name for p in pwd.getpwall() if p.pw_gid == group.gr_gid)
    return members
