"""Template SQL reads its upstream nodes and nothing else (issue 9 §1).

Every attack runs for real: a real DuckDB, real files outside the template (/etc/passwd, a file
next to the store), a real run record that keeps the failure while other branches go on.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import prodex_jupyter as px
from prodex_jupyter.runtime.compute import compute_node
from prodex_jupyter.runtime.sql_sandbox import SqlSandboxError, sandbox_for
from prodex_jupyter.template import SqlNode, TemplateError

CLEAN = "- required columns: a, b\n- at least 1 rows"
SECRET = "prodex-sandbox-secret-line"


def _template(tmp_path: Path, attack: str) -> px.Template:
    (tmp_path / "t.csv").write_text("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(40)))
    tpl = px.Template("attack", base_dir=tmp_path)
    tpl.source("t", "t.csv", gate={"gate_id": "g", "name": "G", "instructions": CLEAN})
    tpl.sql("stolen", attack)
    tpl.sql("fine", "SELECT count(*) AS n FROM t")
    tpl.output("n", of="fine")
    return tpl


def _secret_file(tmp_path: Path) -> Path:
    """A file the template never declares, outside its folder, with content that must not leak."""
    outside = tmp_path.parent / f"{tmp_path.name}_outside"
    outside.mkdir(exist_ok=True)
    path = outside / "secret.csv"
    path.write_text(f"line\n{SECRET}\n")
    return path


ATTACKS = {
    "read_csv": ("SELECT * FROM t, read_csv('{secret}')", "read_csv", "{secret}"),
    "read_text": (
        "SELECT t.a, x.content FROM t, read_text('{secret}') AS x",
        "read_text",
        "{secret}",
    ),
    "read_csv_etc_passwd": ("SELECT * FROM t, read_csv('/etc/passwd')", "read_csv", "/etc/passwd"),
    "glob": ("SELECT t.a, g.file FROM t, glob('/root/*') AS g", "glob", "/root/*"),
    "https": (
        "SELECT * FROM t, read_csv('https://example.com/x.csv')",
        "read_csv",
        "https://example.com/x.csv",
    ),
    "dotdot_escape": (
        "SELECT * FROM t, read_csv('{artifacts}/../../{secret_rel}')",
        "read_csv",
        "{artifacts}/../../{secret_rel}",
    ),
    "store_database": (
        "SELECT * FROM t, read_blob('{store}/events.sqlite')",
        "read_blob",
        "{store}/events.sqlite",
    ),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_sql_reading_outside_its_upstream_fails_the_node_naming_it_and_keeps_other_branches(
    tmp_path, store, name
):
    secret = _secret_file(tmp_path)
    sql, function, target = ATTACKS[name]
    fields = {
        "secret": secret,
        "artifacts": store.artifacts.root,
        "store": store.root,
        "secret_rel": os.path.relpath(secret, store.root.parent),
    }
    sql, target = sql.format(**fields), target.format(**fields)
    run = _template(tmp_path, sql).run(store=store, policy=px.confirm_high)
    run.wait(timeout=60)

    assert run.status == "failed"
    assert run.value("n") == 40  # the other branch went on
    recorded = store.state(run.id).nodes["stolen"]  # the record keeps the failure
    assert recorded.state == "failed"
    message = recorded.error
    assert "SqlSandboxError" in message
    assert "SQL node 'stolen'" in message
    assert f"{function}()" in message and repr(target) in message
    assert "SQL reads only its upstream nodes, by id (t)" in message
    assert SECRET not in message + recorded.traceback  # the path, never the content
    assert "root:x:0" not in message + recorded.traceback
    assert "stolen" not in run.results


def test_a_sql_output_is_sandboxed_too(tmp_path, store):
    secret = _secret_file(tmp_path)
    tpl = _template(tmp_path, "SELECT * FROM t")
    tpl.output("leak", sql=f"SELECT count(*) FROM t, read_text('{secret}')")
    run = tpl.run(store=store, policy=px.confirm_high)
    run.wait(timeout=60)
    error = store.state(run.id).nodes["leak"].error
    assert "SQL output 'leak' tried to read the file" in error and "read_text()" in error
    assert run.value("n") == 40


def test_a_secret_or_extension_is_refused_at_run_time(tmp_path, store):
    tpl = _template(tmp_path, "SELECT t.*, s.name FROM t, duckdb_secrets() AS s")
    tpl.sql("ext", "SELECT * FROM t, duckdb_extensions()")
    run = tpl.run(store=store, policy=px.confirm_high)
    run.wait(timeout=60)
    nodes = store.state(run.id).nodes
    for node_id in ("stolen", "ext"):
        assert nodes[node_id].state == "failed"
        assert f"SQL node '{node_id}'" in nodes[node_id].error
        assert "refused by the SQL sandbox" in nodes[node_id].error


STATEMENTS = {
    "copy": "COPY (SELECT * FROM t) TO '/tmp/prodex_copied.csv'",
    "attach": "ATTACH '/tmp/prodex_attached.duckdb' AS x",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "secret": "CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 'v')",
    "set": "SET enable_external_access = true",
    "create": "CREATE TABLE leftover AS SELECT * FROM t",
    "two": "SELECT * FROM t; SELECT * FROM t",
}


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_anything_but_one_select_is_refused_when_the_template_is_built(tmp_path, name):
    tpl = px.Template("stmts", base_dir=tmp_path)
    tpl.source("t", "t.csv")
    with pytest.raises(TemplateError) as err:
        tpl.sql("bad", STATEMENTS[name])
    assert err.value.node == "bad" and err.value.field == "sql"
    assert "one SELECT query" in str(err.value)


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_anything_but_one_select_is_refused_at_run_time_too(store, name):
    """A node that slipped past the builder still never runs a statement but a SELECT."""
    node = SqlNode(id="bad", sql=STATEMENTS[name], upstream=("t",))
    table = pa.table({"a": [1, 2]})
    with pytest.raises(SqlSandboxError, match=r"SQL node 'bad'.*one SELECT query"):
        compute_node(node, {"t": table}, sandbox_for(store.artifacts.root))
    assert not Path("/tmp/prodex_copied.csv").exists()
    assert not Path("/tmp/prodex_attached.duckdb").exists()


def test_sql_and_sql_outputs_reading_no_upstream_node_are_refused_when_built(tmp_path):
    tpl = px.Template("no_upstream", base_dir=tmp_path)
    tpl.source("t", "t.csv")
    with pytest.raises(TemplateError, match="node 'constant', field 'sql': the SQL reads no up"):
        tpl.sql("constant", "SELECT 42 AS answer")
    with pytest.raises(TemplateError, match=r"node 'file_read'.*reads no upstream node"):
        tpl.sql("file_read", "SELECT * FROM read_csv('/etc/passwd')")
    with pytest.raises(TemplateError, match=r"node 'label'.*reads no upstream node"):
        tpl.output("label", sql="SELECT 'x' AS label")


def test_yaml_sql_reading_no_upstream_node_is_refused_naming_file_and_node(tmp_path):
    path = tmp_path / "t.prodex.yaml"
    path.write_text(
        "id: y\nnodes:\n"
        "  - {id: t, kind: source, path: t.csv}\n"
        "  - {id: out, kind: output, sql: \"SELECT * FROM read_text('/etc/passwd')\"}\n"
    )
    with pytest.raises(TemplateError) as err:
        px.load_template(path)
    assert str(path) in str(err.value) and "node 'out'" in str(err.value)
    assert "reads no upstream node" in str(err.value)


def test_the_lockdown_holds_across_runs_and_cannot_be_undone_on_a_reused_connection(
    tmp_path, store
):
    secret = _secret_file(tmp_path)
    attack = f"SELECT * FROM t, read_csv('{secret}')"
    for _ in range(2):  # the second run reuses the first one's database
        run = _template(tmp_path, attack).run(store=store, policy=px.confirm_high)
        run.wait(timeout=60)
        assert store.state(run.id).nodes["stolen"].state == "failed"
    sandbox = sandbox_for(store.artifacts.root)
    cursor = sandbox.database.cursor()
    for statement in (
        "SET enable_external_access = true",
        "RESET enable_external_access",
        "SET lock_configuration = false",
        "SET allowed_directories = ['/']",
    ):
        with pytest.raises(duckdb.Error, match="configuration has been locked"):
            cursor.execute(statement)
    settings = dict(
        cursor.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', "
            "'lock_configuration', 'autoload_known_extensions', 'autoinstall_known_extensions')"
        ).fetchall()
    )
    assert settings == {
        "enable_external_access": "false",
        "lock_configuration": "true",
        "autoload_known_extensions": "false",
        "autoinstall_known_extensions": "false",
    }
    allowed = cursor.execute("SELECT current_setting('allowed_directories')").fetchone()[0]
    assert f"{store.artifacts.root}/" in allowed
    assert all(
        d.startswith((f"{store.artifacts.root}/", "/tmp/prodex-sql-spill-")) for d in allowed
    )


def test_declared_parquet_sources_outside_the_store_are_still_read(tmp_path, store):
    """Sources are read by the engine, not by the sandboxed SQL."""
    data = tmp_path / "elsewhere"
    data.mkdir()
    pq.write_table(pa.table({"a": [1, 2, 3], "b": [0, 1, 0]}), data / "p.parquet")
    (data / "j.ndjson").write_text('{"a": 5}\n{"a": 6}\n')
    tpl = px.Template("sources", base_dir=data)
    tpl.source("p", "p.parquet", gate={"gate_id": "gp", "name": "P", "instructions": CLEAN})
    tpl.source("j", "j.ndjson")
    tpl.output("total", sql="SELECT (SELECT sum(a) FROM p) + (SELECT sum(a) FROM j) AS total")
    run = tpl.run(store=store, policy=px.confirm_high)
    run.wait(timeout=60)
    for gate in ("gp", "j_input"):
        run.confirm(gate, note="fine")
        run.wait(timeout=60)
    assert run.value("total") == 17


def test_known_set_files_outside_the_template_folder_are_refused_when_built(tmp_path):
    tpl = px.Template("known", base_dir=tmp_path)
    for bad in ("/etc/passwd", "../recipes.csv", "sub/../../recipes.csv", "~/recipes.csv"):
        bullet = f"code in known set from {bad} (code)"
        with pytest.raises(TemplateError) as err:
            tpl.source(
                f"s{abs(hash(bad))}",
                "t.csv",
                gate={"gate_id": f"g{abs(hash(bad))}", "name": "G", "instructions": f"- {bullet}"},
            )
        assert err.value.gate == f"g{abs(hash(bad))}" and bullet in str(err.value)
        assert "template's folder" in str(err.value)


def test_known_set_files_are_listed_in_the_evidence_with_their_sha256(tmp_path, store):
    (tmp_path / "t.csv").write_text("code,a\nR01,1\nR02,2\nR09,3\n")
    ref = tmp_path / "ref"
    ref.mkdir()
    (ref / "recipes.csv").write_text("code\nR01\nR02\n")
    evidence = _known_set_evidence(tmp_path, store, "code in known set from ref/recipes.csv (code)")
    digest = hashlib.sha256((ref / "recipes.csv").read_bytes()).hexdigest()
    assert evidence["files"] == [
        {
            "bullet": "code in known set from ref/recipes.csv (code)",
            "path": "ref/recipes.csv",
            "resolved": str((ref / "recipes.csv").resolve()),
            "sha256": digest,
            "size": (ref / "recipes.csv").stat().st_size,
        }
    ]
    check = evidence["checks"][0]
    assert check["status"] == "fail" and check["observed"]["file"]["sha256"] == digest


def test_a_known_set_link_leading_out_of_the_template_folder_is_not_read(tmp_path, store):
    secret = _secret_file(tmp_path)
    (tmp_path / "t.csv").write_text("line,a\nx,1\n")
    (tmp_path / "recipes.csv").symlink_to(secret)
    evidence = _known_set_evidence(tmp_path, store, "line in known set from recipes.csv (line)")
    check = evidence["checks"][0]
    assert check["status"] == "fail" and "outside the template's folder" in check["message"]
    assert evidence["files"] == [] and SECRET not in str(evidence)


def _known_set_evidence(tmp_path: Path, store: px.RunStore, bullet: str) -> dict:
    """The evidence of a gate whose one instruction is `bullet`, on t.csv in `tmp_path`."""
    tpl = px.Template("known", base_dir=tmp_path)
    tpl.source("t", "t.csv", gate={"gate_id": "g", "name": "G", "instructions": f"- {bullet}"})
    tpl.output("n", sql="SELECT count(*) FROM t")
    run = tpl.run(store=store)
    run.wait(timeout=60)
    return store.state(run.id).gates["g"].evidence


def test_templates_built_on_many_threads_at_once_read_their_sql_alike():
    """The server builds templates on a thread pool: DuckDB's shared module-level connection
    lost a query's result when another thread's ran beside it (fetchone() None: HTTP 500)."""
    from concurrent.futures import ThreadPoolExecutor

    from prodex_jupyter.template.sql_refs import referenced_tables

    sql = "WITH a AS (SELECT * FROM x JOIN y USING (k)) SELECT * FROM a, z"
    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(lambda _: referenced_tables(sql), range(500)))
    assert set(found) == {frozenset({"x", "y", "z"})}


FORK_AFTER_A_PARSE = """
import os, sys
from concurrent.futures import ThreadPoolExecutor
from prodex_jupyter.template.sql_refs import referenced_tables

pool = ThreadPoolExecutor(2)  # a thread that parsed, still alive when the process forks
assert pool.submit(referenced_tables, "SELECT * FROM a JOIN b USING (k)").result() == {"a", "b"}
pid = os.fork()
if pid == 0:
    os._exit(0 if referenced_tables("SELECT * FROM c") == {"c"} else 3)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
"""


def test_a_process_forked_after_a_parse_on_another_thread_lives_and_parses():
    """A kernel that built a template on a thread and then forks (multiprocessing, a command on
    a pseudo-terminal): with a DuckDB connection per thread, the child cleared the other
    threads' connections and died of SIGSEGV (exit code -11, and every pexpect test of a CI
    run failed)."""
    done = subprocess.run(
        [sys.executable, "-c", FORK_AFTER_A_PARSE],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0", done.stdout + done.stderr
