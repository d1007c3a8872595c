"""What a run's first event (`RunCreated`) says of its template: the template itself, its node
digests, and its nodes and gates as the run's state starts from them.

It depends on the template alone, so it is built once per state of a template object
(`Template.derived`: a node added, or the id or description set anew, builds it again) and
shared by every run of it: a kernel runs one template many times, and at a thousand nodes
building it was a few microseconds per node of every start. The record is byte for byte what it
was: the same dicts, serialised per run.
"""

from __future__ import annotations

from typing import Any

from ..template import Template
from .deciders import gate_rules


def template_record(template: Template) -> dict[str, Any]:
    """RunCreated's `template`, `node_digests`, `nodes` (topological order) and `gates`; shared
    between runs of the template, so read only."""
    return template.derived("run_created", _build)


def _build(template: Template) -> dict[str, Any]:
    nodes = template.nodes
    return {
        "template": template.to_dict(),
        "node_digests": template.node_digests(),
        "nodes": [
            {
                "id": node.id,
                "kind": node.kind,
                "upstream": list(node.upstream),
                "gate_id": node.gate.gate_id if node.gate else None,
            }
            for node in map(nodes.__getitem__, template.topological_order())
        ],
        "gates": [  # in node order, as `Template.gates` (a gate_id belongs to one node)
            {
                "gate_id": gate.gate_id,
                "node_id": node.id,
                "name": gate.name,
                "description": gate.description,
                **gate_rules(gate),
            }
            for node in nodes.values()
            if (gate := node.gate) is not None
        ],
    }
