"""Template rules from the spec (gates placement, validation, YAML, fingerprint)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

import prodex_jupyter as px
from prodex_jupyter.template import OutputNode, PythonNode, SqlNode


def _yaml(tmp_path: Path, text: str, name: str = "t.prodex.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def small() -> px.Template:
    tpl = px.Template("small")
    tpl.source("orders", "orders.csv")
    tpl.sql("big", "SELECT * FROM orders WHERE amount > 10")
    tpl.output("n_big", sql="SELECT count(*) FROM big")
    return tpl


# ----------------------------------------------------------------- gates
def test_source_without_gate_gets_the_default_gate():
    tpl = small()
    gate = tpl["orders"].gate
    assert gate is not None and gate.default
    assert gate.gate_id == "orders_input"
    assert gate.name == "orders input shape"


def test_source_keeps_a_given_gate():
    tpl = px.Template("t").source(
        "orders", "orders.csv", gate={"gate_id": "g1", "name": "Orders shape"}
    )
    assert tpl["orders"].gate.gate_id == "g1"
    assert not tpl["orders"].gate.default


def test_gates_are_optional_on_transformations():
    tpl = small()
    assert tpl["big"].gate is None
    tpl.sql("bigger", "SELECT * FROM big", gate=px.Gate("g2", "Sanity"))
    assert tpl.gates["g2"].name == "Sanity"


def test_gate_on_an_output_is_refused_in_python_and_yaml(tmp_path):
    tpl = small()
    with pytest.raises(px.TemplateError, match=r"node 'bad'.*field 'gate'.*not allowed on outputs"):
        tpl.output("bad", of="big", gate=px.Gate("g", "G"))
    path = _yaml(
        tmp_path,
        """
        id: t
        nodes:
          - {id: s, kind: source, path: s.csv}
          - id: out
            kind: output
            of: s
            gate: {gate_id: g, name: G}
    """,
    )
    with pytest.raises(px.TemplateError, match=r"t\.prodex\.yaml.*node 'out'.*field 'gate'"):
        px.load_template(path)


def test_a_node_carries_at_most_one_gate(tmp_path):
    path = _yaml(
        tmp_path,
        """
        id: t
        nodes:
          - id: s
            kind: source
            path: s.csv
            gates: [{gate_id: a, name: A}, {gate_id: b, name: B}]
    """,
    )
    with pytest.raises(px.TemplateError, match=r"node 's'.*field 'gates'.*unknown field"):
        px.load_template(path)


def test_gate_fields_are_required_and_gate_ids_unique():
    tpl = px.Template("t")
    with pytest.raises(px.TemplateError, match=r"node 's'.*field 'name'"):
        tpl.source("s", "s.csv", gate={"gate_id": "g"})
    with pytest.raises(px.TemplateError, match=r"node 's'.*field 'gate_id'"):
        tpl.source("s", "s.csv", gate={"name": "G"})
    tpl.source("a", "a.csv", gate={"gate_id": "g", "name": "G"})
    with pytest.raises(px.TemplateError, match=r"node 'b'.*gate 'g'.*already used by node 'a'"):
        tpl.source("b", "b.csv", gate={"gate_id": "g", "name": "G again"})


def test_malformed_instruction_is_refused_at_build_time_naming_gate_and_bullet():
    tpl = px.Template("t")
    gate = px.Gate(
        "shape", "Shape", instructions="- required columns: a\n- cycle_time between 10 and"
    )
    with pytest.raises(px.TemplateError) as info:
        tpl.source("s", "s.csv", gate=gate)
    message = str(info.value)
    assert "gate 'shape'" in message and "cycle_time between 10 and" in message
    assert "field 'instructions'" in message


# ------------------------------------------------------------ validation
def test_duplicate_node_ids_are_refused():
    tpl = small()
    with pytest.raises(px.TemplateError, match=r"node 'big'.*duplicate node id"):
        tpl.sql("big", "SELECT 1 FROM orders")


def test_sql_reading_a_table_that_is_not_a_node_names_it():
    tpl = small()
    tpl.sql("joined", "WITH x AS (SELECT * FROM big) SELECT * FROM x JOIN customers USING (id)")
    with pytest.raises(
        px.TemplateError, match=r"node 'joined'.*field 'sql'.*'customers' is not a node"
    ):
        tpl.validate()


def test_sql_upstream_comes_from_the_sql_and_ignores_ctes():
    tpl = small()
    tpl.sql("joined", "WITH x AS (SELECT * FROM big) SELECT * FROM x JOIN orders USING (id)")
    assert tpl["joined"].upstream == ("big", "orders")


def test_sql_syntax_errors_name_the_node():
    with pytest.raises(px.TemplateError, match=r"node 'q'.*field 'sql'.*cannot parse"):
        small().sql("q", "SELEC * FROM orders")


def test_cycles_are_refused_with_the_cycle_named(tmp_path):
    path = _yaml(
        tmp_path,
        """
        id: t
        nodes:
          - {id: s, kind: source, path: s.csv}
          - {id: a, kind: sql, sql: "SELECT * FROM b JOIN s USING (k)"}
          - {id: b, kind: sql, sql: "SELECT * FROM a"}
    """,
    )
    with pytest.raises(px.TemplateError, match=r"cycle: (a -> b -> a|b -> a -> b)"):
        px.load_template(path)


def test_python_parameters_must_name_nodes():
    tpl = small()

    with pytest.raises(px.TemplateError, match=r"node 'avg'.*'ordres' is not a node"):

        @tpl.python("avg")
        def avg(ordres):
            return ordres["amount"].mean()

        tpl.validate()


def test_python_function_without_parameters_is_refused():
    with pytest.raises(px.TemplateError, match=r"node 'nothing'.*no parameters"):

        @small().python("nothing")
        def nothing():
            return 1


def test_unknown_fields_and_kinds_in_yaml_are_named_with_the_file(tmp_path):
    path = _yaml(
        tmp_path,
        """
        id: t
        nodes:
          - {id: s, kind: source, path: s.csv}
          - {id: q, kind: sql, sqll: "SELECT 1 FROM s"}
    """,
    )
    with pytest.raises(px.TemplateError, match=r"t\.prodex\.yaml, node 'q', field 'sqll'"):
        px.load_template(path)
    path = _yaml(tmp_path, "id: t\nnodes:\n  - {id: s, kind: table}\n", "k.prodex.yaml")
    with pytest.raises(px.TemplateError, match=r"k\.prodex\.yaml, node 's', field 'kind'"):
        px.load_template(path)


def test_invalid_yaml_names_file_and_line(tmp_path):
    path = _yaml(tmp_path, "id: t\nnodes:\n  - {id: s, kind: source\n")
    with pytest.raises(px.TemplateError, match=r"t\.prodex\.yaml.*invalid YAML at line \d+"):
        px.load_template(path)


def test_unknown_source_format_is_refused():
    with pytest.raises(px.TemplateError, match=r"node 's'.*field 'path'.*format"):
        px.Template("t").source("s", "s.xlsx")


# ------------------------------------------------------------------ YAML
def test_demo_template_loads_with_every_kind(demo_template):
    kinds = {n.kind for n in demo_template.nodes.values()}
    assert kinds == {"source", "sql", "python", "output"}
    assert isinstance(demo_template["shift_overruns"], PythonNode)
    assert demo_template["shift_overruns"].upstream == ("cycles",)
    assert isinstance(demo_template["plant_mean_cycle_time"], OutputNode)
    assert demo_template["cycles"].upstream == ("recipes", "throughput")


def test_load_save_load_is_identity(demo_template, tmp_path):
    first = tmp_path / "one.prodex.yaml"
    demo_template.save(first)
    again = px.load_template(first)
    assert again.to_dict() == demo_template.to_dict()
    assert again.fingerprint == demo_template.fingerprint
    second = tmp_path / "two.prodex.yaml"
    again.save(second)
    assert second.read_text() == first.read_text()


def test_python_node_by_module_reference_round_trips(tmp_path):
    tpl = px.Template("t", base_dir=tmp_path)
    tpl.source("orders", "orders.csv")
    tpl.python_node("total", function="tests.nodes_for_tests:total_amount")
    path = tpl.save(tmp_path / "t.prodex.yaml")
    text = path.read_text()
    assert "function: tests.nodes_for_tests:total_amount" in text
    loaded = px.load_template(path)
    assert loaded["total"].upstream == ("orders",)
    assert "def total_amount(orders)" in loaded["total"].code
    assert loaded.fingerprint == tpl.fingerprint


def test_python_built_template_saves_its_function_as_inline_code(tmp_path):
    tpl = small()

    @tpl.python("mean_amount", explanation="Average order amount.")
    def mean_amount(big):
        return float(big["amount"].mean())

    path = tpl.save(tmp_path / "small.prodex.yaml")
    data = yaml.safe_load(path.read_text())
    node = next(n for n in data["nodes"] if n["id"] == "mean_amount")
    assert node["code"].startswith("def mean_amount(big):")  # decorator not recorded
    loaded = px.load_template(path)
    assert loaded.fingerprint == tpl.fingerprint


# ------------------------------------------------------------ fingerprint
def test_fingerprint_ignores_dict_order_and_yaml_layout(tmp_path):
    a = _yaml(
        tmp_path,
        """
        id: t
        description: d
        nodes:
          - {id: s, kind: source, path: s.csv, explanation: raw}
          - id: q
            kind: sql
            sql: |
              SELECT *
              FROM s
    """,
        "a.prodex.yaml",
    )
    b = _yaml(
        tmp_path,
        """
        nodes:
          - kind: sql
            sql: "SELECT *\\nFROM s"
            id: q
          - explanation: raw
            path: s.csv
            kind: source
            id: s
        description: d
        id: t
    """,
        "b.prodex.yaml",
    )
    assert px.load_template(a).fingerprint == px.load_template(b).fingerprint


def test_fingerprint_changes_with_code_gates_and_structure():
    base = small().fingerprint
    changed_sql = px.Template("small")
    changed_sql.source("orders", "orders.csv")
    changed_sql.sql("big", "SELECT * FROM orders WHERE amount > 20")
    changed_sql.output("n_big", sql="SELECT count(*) FROM big")
    assert changed_sql.fingerprint != base

    gated = px.Template("small")
    gated.source(
        "orders", "orders.csv", gate=px.Gate("o", "Orders", instructions="- at least 5 rows")
    )
    gated.sql("big", "SELECT * FROM orders WHERE amount > 10")
    gated.output("n_big", sql="SELECT count(*) FROM big")
    assert gated.fingerprint != base
    assert small().fingerprint == base


def test_node_digests_say_which_part_changed():
    a, b = small(), px.Template("small")
    b.source("orders", "orders.csv")
    b.sql("big", "SELECT * FROM orders WHERE amount > 10", explanation="now explained")
    b.output("n_big", sql="SELECT count(*) FROM big")
    da, db = a.node_digests(), b.node_digests()
    assert da["big"]["code"] == db["big"]["code"]
    assert da["big"]["explanation"] != db["big"]["explanation"]
    assert da["orders"] == db["orders"]


def test_sql_node_is_plain_sql():
    assert isinstance(small()["big"], SqlNode)
    assert small()["big"].code == "SELECT * FROM orders WHERE amount > 10"
