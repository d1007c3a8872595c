"""Artifacts under any URI pyarrow's filesystems open (issue 12): `file://` and `s3://` (a real
HTTP S3 endpoint, tests/s3_server.py) hold a run's tables, its captured functions and its source
snapshot; they are read back by another store object and another process (a killed run resumes
elsewhere from them alone), verified, deleted with their run (claims still keep a table another
run stores meanwhile), and tampering is named; SQL still reads nothing but local copies; a
location that cannot be opened is named without its secrets; two processes in two working
directories, sharing nothing but the artifacts location, run and decide each other's runs through
one PostgreSQL store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pytest

import prodex_jupyter as px
from prodex_jupyter.runtime.sql_sandbox import SqlSandboxError, sandbox_for
from prodex_jupyter.store import RunStore, verify_run, verify_store
from prodex_jupyter.store.artifacts import ArtifactsUnreachable
from prodex_jupyter.store.urls import redacted
from prodex_jupyter.store.verify import named_artifacts

from .s3_server import running_s3

REPO = Path(__file__).resolve().parents[1]
PRODEX = [sys.executable, "-m", "prodex_jupyter.cli.main"]
GATE = {"gate_id": "g", "name": "G", "instructions": "- at least 1 rows"}


@pytest.fixture(scope="module")
def s3():
    with running_s3() as server:
        yield server


@pytest.fixture(params=["file", "s3"])
def location(request, tmp_path) -> str:
    if request.param == "file":
        return (tmp_path / "shared-artifacts").as_uri()
    return request.getfixturevalue("s3").uri()


def _objects(uri: str) -> dict[str, pafs.FileInfo]:
    """What is stored under the URI, by artifact hash, as pyarrow's filesystem lists it."""
    fs, base = pafs.FileSystem.from_uri(uri)
    found = fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
    return {
        Path(f.path).stem: f
        for f in found
        if f.type == pafs.FileType.File and f.path.endswith(".parquet")
    }


def _named(store: RunStore, run_id: str) -> set[str]:
    with store.log.snapshot() as snap:
        rows = snap.raw_events(run_id)
    return {sha for row in rows for sha, _ in named_artifacts(json.loads(row[4]))}


def _template(folder: Path, k: int) -> px.Template:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "t.csv").write_text("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(40)))
    tpl = px.Template("uri_store", base_dir=folder)
    tpl.source("t", "t.csv", gate=GATE)
    tpl.sql("big", "SELECT a, b FROM t WHERE a >= 10")

    def plus_k(big):  # a closure: captured with cloudpickle, stored as an artifact
        return big.assign(c=big["a"] + k)

    tpl.python("plus")(plus_k)
    tpl.output("n", sql="SELECT count(*) AS n FROM plus")
    return tpl


def test_a_run_writes_reads_and_deletes_its_artifacts_through_the_uri(location, tmp_path):
    store = RunStore(tmp_path / "store", artifacts=location)
    first = _template(tmp_path, 1).run(store=store)
    first.wait(timeout=60)
    assert first.gates["g"].status == "pending"
    first.confirm("g", note="ok", by="alice")
    first.wait(timeout=60)
    assert first.status == "completed" and first.value("n") == 30
    mine = _named(store, first.id)
    capture = store.events(first.id)[0].event.functions["plus"]["artifact"]
    assert capture in mine and len(mine) >= 4  # source, big, plus, the captured function
    assert mine <= set(_objects(location))  # all of it behind the URI ...
    assert not (tmp_path / "store" / "artifacts").exists()  # ... none beside the database

    again = RunStore(tmp_path / "store", artifacts=location)  # read back, as another opener
    loaded = px.load_run(first.id, store=again)
    assert loaded.value("plus").equals(first.value("plus"))
    assert verify_store(again) == []

    second = _template(tmp_path, 2).run(store=store, policy=px.confirm_high).wait(timeout=60)
    assert second.status == "completed" and second.value("plus")["c"].iloc[0] == 12
    theirs = _named(store, second.id)
    shared = mine & theirs
    assert shared  # the same source table, stored once

    px.delete_run(first.id, store=store, by="alice", reason="done with it")
    left = set(_objects(location))
    assert not (mine - theirs) & left  # what only the deleted run used is gone
    assert theirs <= left  # what the other run uses stays
    assert verify_store(store) == [] and store.run_ids() == [second.id]

    # changed behind the store's back: verify names the artifact where it lies, no secrets
    sha = second.state.results["plus"].artifact
    fs, _ = pafs.FileSystem.from_uri(location)
    with fs.open_output_stream(_objects(location)[sha].path) as out:
        out.write(b"not the table")
    problems = [str(p) for p in verify_run(store, second.id)]
    said = store.artifacts.location(sha)
    assert any(f"artifact {sha[:12]} was changed" in p and said in p for p in problems), problems
    if location.startswith("s3://"):
        assert said.startswith("s3://prodex-tests:***@") and said.endswith(f"/{sha}.parquet")
        assert not any(s3_secret(location) in p for p in problems)
    else:  # a file:// location is a folder: its artifacts are shown as file paths
        assert said == str(tmp_path / "shared-artifacts" / sha[:2] / f"{sha}.parquet")


def s3_secret(uri: str) -> str:
    return uri.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]


def test_sql_over_a_remote_store_reads_only_its_local_copies(s3, tmp_path):
    store = RunStore(tmp_path / "store", artifacts=s3.uri())
    sha = store.put_table(pa.table({"a": [1, 2, 3]}), "run-x")
    sandbox = sandbox_for(store.artifacts.root)
    cursor = sandbox.database.cursor()
    allowed = cursor.execute("SELECT current_setting('allowed_directories')").fetchone()[0]
    cursor.close()
    assert all(
        d.startswith((f"{store.artifacts.root}/", "/tmp/prodex-sql-spill-")) for d in allowed
    )
    assert not any("s3:" in d for d in allowed)
    # a stored table is read lazily from the process's local copy (fetched on first use)
    local = store.artifacts.path(sha)
    assert local.is_file() and local.is_relative_to(store.artifacts.root)
    got = sandbox.query("n", "sql", "SELECT sum(a) AS s FROM t", {"t": local})
    assert got.column("s").to_pylist() == [6]
    # the URI itself is out of reach of template SQL: no extension loads, no network
    bucket = store.artifacts.base.split("/", 1)[0]
    remote = f"s3://{bucket}/artifacts/{sha[:2]}/{sha}.parquet"
    with pytest.raises(SqlSandboxError, match=r"refused by the SQL sandbox|DuckDB extension"):
        sandbox.query("n", "sql", f"SELECT * FROM read_parquet('{remote}')", {})


def test_an_artifacts_uri_that_cannot_be_opened_is_named_without_its_secrets(
    s3, pg_server, tmp_path
):
    no_bucket = s3.uri().replace("&allow_bucket_creation=true", "")  # a bucket nobody made
    unknown = f"nope://user:{s3.secret}@host/x"
    for bad in (no_bucket, unknown):
        with pytest.raises(ArtifactsUnreachable) as refused:
            RunStore(tmp_path / "store", artifacts=bad)
        said = str(refused.value)
        assert "PRODEX_ARTIFACTS" in said and redacted(bad) in said, said
        assert s3.secret not in said
    env = {**os.environ, "PYTHONPATH": str(REPO), "PRODEX_STORE": pg_server.create_database()}
    env["PRODEX_ARTIFACTS"] = no_bucket
    out = subprocess.run(
        [*PRODEX, "runs"], capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path
    )
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("prodex: error: the artifacts location s3://prodex-tests:***@")
    assert "PRODEX_ARTIFACTS" in out.stderr and s3.secret not in out.stderr + out.stdout


def test_every_command_works_with_a_postgresql_store_and_s3_artifacts(
    s3, pg_server, tmp_path, demo_dir
):
    uri = s3.uri()
    url = pg_server.create_database()
    env = {**os.environ, "PYTHONPATH": str(REPO), "PRODEX_STORE": url, "PRODEX_ARTIFACTS": uri}
    env.pop("PRODEX_HOME", None)

    def prodex(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*PRODEX, *args],
            capture_output=True,
            text=True,
            timeout=180,
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
        )

    demo = prodex("demo")
    assert demo.returncode == 0 and "intact" in demo.stdout, demo.stderr
    second = prodex("run", str(demo_dir / "plant_kpis.prodex.yaml"), "--confirm-high")
    assert second.returncode == 0, second.stderr
    store = RunStore(url, artifacts=uri)
    first_id, second_id = store.run_ids()
    compared = prodex("compare", first_id, second_id)  # reads both runs' tables
    assert compared.returncode == 0, compared.stderr
    verified = prodex("verify")
    assert verified.returncode == 0 and "2 runs intact" in verified.stdout, verified.stdout
    stored = set(_objects(uri))
    assert _named(store, first_id) | _named(store, second_id) <= stored
    assert not (tmp_path / ".prodex").exists() and not (tmp_path / "artifacts").exists()
    deleted = prodex("delete", first_id, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert store.run_ids() == [second_id] and _named(store, second_id) <= set(_objects(uri))
    verified = prodex("verify")
    assert "1 runs intact, 1 tombstones of deleted runs" in verified.stdout, verified.stdout


PEER = textwrap.dedent(
    """
    import sys, time
    import prodex_jupyter as px
    me = sys.argv[1]
    tpl = px.Template("peer_" + me, base_dir=".")
    tpl.source("t", "t.csv", gate={"gate_id": "g", "name": "G", "instructions": "- at least 1 rows",
                                    "four_eyes": True})
    def doubled(t):  # defined in __main__: captured, stored in the shared artifacts
        return t.assign(b=t["b"] * 2)
    tpl.python("doubled")(doubled)
    tpl.output("n", sql="SELECT count(*) AS n FROM doubled")
    run = tpl.run()
    print(run.id, flush=True)
    run.wait(timeout=60)  # until its gate waits for a decision
    try:
        run.confirm("g", note="my own")
    except px.DecisionRefused:
        print("refused own", flush=True)
    other = sys.stdin.readline().strip()

    def until(check):
        deadline = time.time() + 60
        while not check():
            assert time.time() < deadline
            time.sleep(0.02)

    theirs = px.load_run(other)
    until(lambda: theirs.refresh().gates["g"].status == "pending")
    theirs.confirm("g", note="checked by " + me)
    until(lambda: run.status == "completed")
    print(run.status, run.value("n"), run.gates["g"].last_decision.by, flush=True)
    until(lambda: theirs.refresh().status == "completed")
    print("theirs", len(theirs.value("doubled")), flush=True)  # read from the shared artifacts
    """
)


def test_two_working_directories_share_only_the_artifacts_location(location, pg_server, tmp_path):
    """Acceptance: two processes on two separate working directories (each its own HOME and
    TMPDIR; nothing shared but the artifacts location and the code) run and decide each other's
    runs through one PostgreSQL store."""
    url = pg_server.create_database()
    procs = {}
    for name, rows in (("ann", 30), ("bob", 50)):
        folder = tmp_path / name
        for sub in ("home", "tmp"):
            (folder / sub).mkdir(parents=True)
        (folder / "t.csv").write_text("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(rows)))
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PRODEX_")},
            "PYTHONPATH": str(REPO),
            "HOME": str(folder / "home"),
            "TMPDIR": str(folder / "tmp"),
            "PRODEX_STORE": url,
            "PRODEX_ARTIFACTS": location,
            "PRODEX_USER": name,
        }
        proc = subprocess.Popen(
            [sys.executable, "-c", PEER, name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=folder,
        )
        procs[name] = (proc, proc.stdout.readline().strip())
    (ann, ann_run), (bob, bob_run) = procs["ann"], procs["bob"]
    assert ann_run.startswith("run-") and bob_run.startswith("run-"), ann.stderr or bob.stderr
    # each first tries to confirm its own run (four eyes: refused), then decides the other's
    assert ann.stdout.readline() == "refused own\n" and bob.stdout.readline() == "refused own\n"
    ann.stdin.write(bob_run + "\n")
    ann.stdin.flush()
    bob.stdin.write(ann_run + "\n")
    bob.stdin.flush()
    ann_out, ann_err = ann.communicate(timeout=120)
    bob_out, bob_err = bob.communicate(timeout=120)
    # each executor went on with its own run once the other decided it, and read the other's
    assert ann_out.splitlines() == ["completed 30 bob", "theirs 50"], ann_err
    assert bob_out.splitlines() == ["completed 50 ann", "theirs 30"], bob_err
    for name in ("ann", "bob"):
        folder = tmp_path / name
        assert sorted(p.name for p in folder.iterdir()) == ["home", "t.csv", "tmp"]
        assert not list((folder / "tmp").glob("prodex-artifacts-*"))  # local copies: gone at exit
    store = RunStore(url, artifacts=location)
    assert {r.run_id for r in store.index.list_runs(store.log)} == {ann_run, bob_run}
    assert verify_store(store) == []
    for run_id in (ann_run, bob_run):
        assert _named(store, run_id) <= set(_objects(location))
        decided = store.state(run_id).gates["g"].last_decision.by
        assert decided == ({ann_run: "bob", bob_run: "ann"}[run_id])


def test_claims_keep_a_table_stored_during_a_deletion_behind_s3(s3, pg_server, tmp_path):
    """store/claims.py on a team store with S3 artifacts: another run storing the very same table
    between the deletion's transaction and its removal of files keeps it (its claim), and a table
    stored again after its deletion is uploaded again."""
    store = RunStore(pg_server.create_database(), artifacts=s3.uri())
    doomed = _template(tmp_path, 1).run(store=store, policy=px.confirm_high).wait(timeout=60)
    assert doomed.status == "completed"
    sha, gone = doomed.results["big"].artifact, doomed.results["plus"].artifact
    table, gone_table = store.load_table(sha), store.load_table(gone)
    other = store.create_run(px.store.RunCreated("other", "f" * 64, {}, {}, [], [])).run_id
    delete_events = store.log.delete_run

    def then_the_other_run_stores_it(run_id, **kw):
        done = delete_events(run_id, **kw)
        assert store.put_table(table, other) == sha  # found present: nothing uploaded
        return done

    store.log.delete_run = then_the_other_run_stores_it
    deletion = px.delete_run(doomed.id, store=store)
    store.log.delete_run = delete_events
    assert sha not in deletion.artifacts_removed and store.artifacts.exists(sha)
    assert gone in deletion.artifacts_removed and not store.artifacts.exists(gone)
    store.append(other, px.store.NodeProduced("n", "table", None, sha, 30, [], "", "", [], [], 0))
    assert verify_run(store, other) == []
    assert store.put_table(gone_table, other) == gone  # stored again after its deletion
    assert store.artifacts.hash_of(gone) == gone


STARTER = textwrap.dedent(
    """
    import sys
    import prodex_jupyter as px
    tpl = px.Template("handover", base_dir=".")
    gate = {"gate_id": "g", "name": "G", "instructions": "- at least 1 rows"}
    tpl.source("t", "t.csv", gate=gate)
    k = 5
    def plus_k(t):  # uses a global of __main__: captured, restored from the artifacts on resume
        return t.assign(c=t["a"] + k)
    tpl.python("plus")(plus_k)
    tpl.output("n", sql="SELECT sum(c) AS n FROM plus")
    run = tpl.run()
    run.wait(timeout=60)
    print(run.id, run.gates["g"].status, flush=True)
    sys.stdin.readline()  # held here until killed
    """
)


def _own_env(folder: Path, url: str, artifacts: str, user: str) -> dict[str, str]:
    """A member's process: its own working directory, HOME and TMPDIR; the team's store."""
    for sub in ("home", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("PRODEX_")},
        "PYTHONPATH": str(REPO),
        "HOME": str(folder / "home"),
        "TMPDIR": str(folder / "tmp"),
        "PRODEX_STORE": url,
        "PRODEX_ARTIFACTS": artifacts,
        "PRODEX_USER": user,
    }


def test_a_killed_run_resumes_in_another_working_directory_from_s3(s3, pg_server, tmp_path):
    """Its source table and its captured function come back from the S3 artifacts alone."""
    url, uri = pg_server.create_database(), s3.uri()
    ann, bob = tmp_path / "ann", tmp_path / "bob"
    ann.mkdir()
    (ann / "t.csv").write_text("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(40)))
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_own_env(ann, url, uri, "ann"),
        cwd=ann,
    )
    line = starter.stdout.readline().split()
    assert len(line) == 2 and line[1] == "pending", line or starter.stderr.read()
    run_id = line[0]
    starter.kill()
    starter.communicate(timeout=30)
    store = RunStore(url, artifacts=uri)
    capture = store.events(run_id)[0].event.functions["plus"]
    assert capture["how"] == "capture" and store.artifacts.exists(capture["artifact"])
    deadline = time.time() + 10
    while store.leases.holder(run_id) is not None:  # the server ends the dead session
        assert time.time() < deadline
        time.sleep(0.05)
    bob.mkdir()
    resumed = subprocess.run(
        [*PRODEX, "confirm", run_id, "g", "--note", "looked", "--resume"],
        capture_output=True,
        text=True,
        timeout=180,
        env=_own_env(bob, url, uri, "bob"),
        cwd=bob,
        stdin=subprocess.DEVNULL,
    )
    assert resumed.returncode == 0, resumed.stderr
    state = store.state(run_id)
    assert state.status == "completed" and state.gates["g"].last_decision.by == "bob"
    assert px.load_run(run_id, store=store).value("n") == sum(i + 5 for i in range(40))
    assert verify_run(store, run_id) == []
    assert sorted(p.name for p in bob.iterdir()) == ["home", "tmp"]  # nothing else written here
