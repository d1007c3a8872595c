"""The PostgreSQL store's schema: the same tables as the SQLite store, with the database itself
enforcing what the store promises.

- `events` is append-only: a trigger refuses every UPDATE, a TRUNCATE, and every DELETE except
  inside `prodex_delete_run(run_id)`, the one whole-run deletion (a SECURITY DEFINER function
  that marks its own transaction; the trigger checks that mark and the run's tombstone on the run
  ledger, store/ledger.py, entered just before in the same transaction). Granting a team's role
  INSERT and SELECT on the tables and EXECUTE on that function, and nothing else, leaves no other
  way to remove an event. The run ledger, run heads and anchors are guarded the same way as in
  the SQLite store (append-only; heads only move forward).
- The runs list (`run_summary`, one row per run; `run_lines`, each run's row as `px.runs()`
  reads it, store/run_columns.py, its template and fingerprint a key of `list_templates`;
  `gate_states`; and `idx_run_marks`, one row per milestone event as in the SQLite index, which
  verify compares with the events) and the artifact references (`artifact_refs`) are derived
  from events by a trigger, whoever inserts them (the store, or `prodex store copy`). The runs
  list keeps each run's inputs as a JSON array of pairs, in the order they were given and read,
  like the SQLite index, and as the list shows them (`inputs_shown`).
- A recorded decision is announced with `pg_notify('prodex_decisions', run_id)`, delivered when
  it commits, so the process executing the run reacts at once instead of polling.
- `leases` rows say who holds a run's lease; the lease itself is a session advisory lock of the
  holder's connection, which PostgreSQL releases when that connection ends (store/postgres_leases).
"""

from __future__ import annotations

from .run_columns import KEYED_FIELDS

VERSION = 6  # bump with any change below; `ensure_schema` re-runs the (idempotent) script

DECISIONS_CHANNEL = "prodex_decisions"


def line(s: str, key: str) -> str:
    """A run's line in `run_lines` (run_columns.KEYED_FIELDS joined by U+001F, as UTF-8 bytes)
    from its summary row `s` and its template's `key`: the start, and the time from it to the
    last change, in microseconds."""
    fields = {
        "run_id": f"{s}.run_id",
        "template": f"{key}::text",
        "started_us": f"prodex_micros({s}.created_at)::text",
        "status": f"{s}.status",
        "duration_us": f"(prodex_micros({s}.last_at) - prodex_micros({s}.created_at))::text",
        "gates": f"{s}.resolved::text || ' / ' || {s}.n_gates::text",
        "inputs": f"{s}.inputs_shown",
    }
    joined = " || chr(31) || ".join(fields[name] for name in KEYED_FIELDS)
    return f"convert_to({joined}, 'UTF8')"


SCRIPT = f"""
CREATE TABLE IF NOT EXISTS prodex_schema (version integer NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    run_id    text    NOT NULL,
    seq       integer NOT NULL,
    at        text    NOT NULL,
    kind      text    NOT NULL,
    payload   text    NOT NULL,
    prev_hash text    NOT NULL,
    hash      text    NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS runs (
    run_id      text PRIMARY KEY,
    template_id text NOT NULL,
    fingerprint text NOT NULL,
    created_at  text NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_template ON runs (template_id, created_at);
CREATE TABLE IF NOT EXISTS run_heads (
    run_id text PRIMARY KEY,
    seq    integer NOT NULL,
    hash   text    NOT NULL
);
CREATE TABLE IF NOT EXISTS run_ledger (
    seq       integer PRIMARY KEY,
    at        text NOT NULL,
    kind      text NOT NULL,
    run_id    text NOT NULL,
    detail    text NOT NULL,
    prev_hash text NOT NULL,
    hash      text NOT NULL
);
CREATE INDEX IF NOT EXISTS run_ledger_by_run ON run_ledger (run_id, kind);
CREATE TABLE IF NOT EXISTS anchors (
    digest text PRIMARY KEY,
    at     text NOT NULL,
    body   text NOT NULL
);
CREATE TABLE IF NOT EXISTS idx_run_marks (
    run_id text    NOT NULL,
    seq    integer NOT NULL,
    kind   text    NOT NULL,
    at     text    NOT NULL,
    status text    NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS artifact_claims (
    sha256 text NOT NULL,
    run_id text NOT NULL,
    at     text NOT NULL,
    PRIMARY KEY (sha256, run_id)
);
CREATE TABLE IF NOT EXISTS artifact_refs (
    sha256 text NOT NULL,
    run_id text NOT NULL,
    PRIMARY KEY (sha256, run_id)
);
CREATE INDEX IF NOT EXISTS artifact_refs_by_run ON artifact_refs (run_id);
CREATE TABLE IF NOT EXISTS run_summary (
    run_id      text PRIMARY KEY,
    template_id text    NOT NULL,
    fingerprint text    NOT NULL,
    created_at  text    NOT NULL,
    n_gates     integer NOT NULL,
    status      text    NOT NULL,
    resolved    integer NOT NULL,
    last_at     text    NOT NULL,
    inputs      jsonb   NOT NULL,
    inputs_shown text   NOT NULL
);
-- Room in each page for a row's next version: the trigger updates a run's row at each milestone,
-- and an update that fits in its page (no indexed column changes) is HOT, adding no entry to the
-- three indexes: 71% of the updates of bench/store_backends.py's 100,000-run fill, against 0.1%
-- in full pages (the heap after VACUUM about the same: 91 against 87 MB). Version 4.
ALTER TABLE run_summary SET (fillfactor = 70);
-- Version 3 shows the inputs as the runs list does, kept with them; a version 2 store gains them.
ALTER TABLE run_summary ADD COLUMN IF NOT EXISTS inputs_shown text;
CREATE INDEX IF NOT EXISTS run_summary_by_start ON run_summary (created_at DESC, run_id DESC);
CREATE INDEX IF NOT EXISTS run_summary_by_pipeline
    ON run_summary (template_id, created_at DESC, run_id DESC);
CREATE TABLE IF NOT EXISTS gate_states (
    run_id   text NOT NULL,
    gate_id  text NOT NULL,
    decision text NOT NULL,
    PRIMARY KEY (run_id, gate_id)
);
CREATE TABLE IF NOT EXISTS leases (
    run_id      text PRIMARY KEY,
    token       text    NOT NULL,
    host        text    NOT NULL,
    pid         integer NOT NULL,
    proc_start  text    NOT NULL,
    backend_pid integer NOT NULL,
    acquired_at double precision NOT NULL
);

-- Inside prodex_delete_run() for this run, after its tombstone went on the run ledger.
CREATE OR REPLACE FUNCTION prodex_deleting(p_run_id text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT current_setting('prodex.deleting_run', true) IS NOT DISTINCT FROM p_run_id
       AND EXISTS (SELECT 1 FROM run_ledger l WHERE l.run_id = p_run_id AND l.kind = 'run_deleted')
$$;

CREATE OR REPLACE FUNCTION prodex_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'the event log is append-only: events cannot be updated'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'the event log is append-only: it cannot be truncated'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NOT prodex_deleting(OLD.run_id) THEN
        RAISE EXCEPTION 'the event log is append-only: only a whole run can be deleted, '
            'by prodex_delete_run()' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN OLD;
END $$;
DROP TRIGGER IF EXISTS events_append_only ON events;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION prodex_events_append_only();
DROP TRIGGER IF EXISTS events_no_truncate ON events;
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION prodex_events_append_only();

CREATE OR REPLACE FUNCTION prodex_runs_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'run entries cannot be updated'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NOT prodex_deleting(OLD.run_id) THEN
        RAISE EXCEPTION 'a run entry goes only with its whole run, by prodex_delete_run()'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN OLD;
END $$;
DROP TRIGGER IF EXISTS runs_fixed ON runs;
CREATE TRIGGER runs_fixed BEFORE UPDATE OR DELETE ON runs
    FOR EACH ROW EXECUTE FUNCTION prodex_runs_fixed();

CREATE OR REPLACE FUNCTION prodex_heads_forward() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.seq <= OLD.seq OR NEW.run_id <> OLD.run_id THEN
            RAISE EXCEPTION 'a run head only moves forward'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF NOT prodex_deleting(OLD.run_id) THEN
        RAISE EXCEPTION 'a run head goes only with its whole run (delete_run)'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN OLD;
END $$;
DROP TRIGGER IF EXISTS run_heads_forward ON run_heads;
CREATE TRIGGER run_heads_forward BEFORE UPDATE OR DELETE ON run_heads
    FOR EACH ROW EXECUTE FUNCTION prodex_heads_forward();

CREATE OR REPLACE FUNCTION prodex_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: its entries cannot be %', TG_ARGV[0],
        CASE TG_OP WHEN 'UPDATE' THEN 'updated' WHEN 'DELETE' THEN 'deleted' ELSE 'truncated' END
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
DROP TRIGGER IF EXISTS run_ledger_append_only ON run_ledger;
CREATE TRIGGER run_ledger_append_only BEFORE UPDATE OR DELETE ON run_ledger
    FOR EACH ROW EXECUTE FUNCTION prodex_refuse_change('the run ledger');
DROP TRIGGER IF EXISTS run_ledger_no_truncate ON run_ledger;
CREATE TRIGGER run_ledger_no_truncate BEFORE TRUNCATE ON run_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION prodex_refuse_change('the run ledger');
DROP TRIGGER IF EXISTS anchors_append_only ON anchors;
CREATE TRIGGER anchors_append_only BEFORE UPDATE OR DELETE ON anchors
    FOR EACH ROW EXECUTE FUNCTION prodex_refuse_change('anchors');

-- The one deletion: a whole run, whose tombstone the caller entered on the run ledger in the
-- same transaction. Returns how many events went.
CREATE OR REPLACE FUNCTION prodex_delete_run(p_run_id text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE n integer;
BEGIN
    PERFORM set_config('prodex.deleting_run', p_run_id, true);
    IF NOT prodex_deleting(p_run_id) THEN
        RAISE EXCEPTION 'run % has no tombstone on the run ledger: enter one first', p_run_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    DELETE FROM events WHERE run_id = p_run_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM runs WHERE run_id = p_run_id;
    DELETE FROM run_heads WHERE run_id = p_run_id;
    DELETE FROM idx_run_marks WHERE run_id = p_run_id;
    DELETE FROM run_summary WHERE run_id = p_run_id;
    DELETE FROM run_lines WHERE run_id = p_run_id;
    DELETE FROM gate_states WHERE run_id = p_run_id;
    DELETE FROM artifact_refs WHERE run_id = p_run_id;
    PERFORM set_config('prodex.deleting_run', '', true);
    RETURN n;
END $$;

-- A list of [key, value] pairs with `key` set to `value` (replaced in place, or appended).
CREATE OR REPLACE FUNCTION prodex_set_pair(pairs jsonb, k text, v text) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(pairs) e WHERE e->>0 = k) THEN (
            SELECT jsonb_agg(CASE WHEN e->>0 = k THEN jsonb_build_array(k, v) ELSE e END
                             ORDER BY o)
            FROM jsonb_array_elements(pairs) WITH ORDINALITY AS t(e, o))
        ELSE pairs || jsonb_build_array(jsonb_build_array(k, v))
    END
$$;

CREATE OR REPLACE FUNCTION prodex_basename(path text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT regexp_replace(path, '^.*/', '') $$;

-- The inputs as the runs list shows them: "node=file (hash)", "; "-separated, in order.
CREATE OR REPLACE FUNCTION prodex_shown_inputs(pairs jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(string_agg((e->>0) || '=' || (e->>1), '; ' ORDER BY o), '')
    FROM jsonb_array_elements(pairs) WITH ORDINALITY AS t(e, o)
$$;
UPDATE run_summary SET inputs_shown = prodex_shown_inputs(inputs) WHERE inputs_shown IS NULL;
ALTER TABLE run_summary ALTER COLUMN inputs_shown SET NOT NULL;

-- Version 6: the list reads `run_lines`, each run's line alone (store/run_columns.py), not the
-- line versions 3 to 5 generated in `run_summary` from its own columns. The summary rows were
-- some 420 bytes, the line 180 of them, and past a quarter of shared_buffers (a 91 MB heap at
-- 100,000 runs) a sequential scan reads through a 256 kB ring, from the OS's cache each time:
-- the scan and string_agg of those lines took the server 0.22 s. A key per template and
-- fingerprint (`list_templates`, mapped back by the reader) and the times as integers make the
-- line 64 bytes, the table 16 MB, read from shared buffers.
ALTER TABLE run_summary DROP COLUMN IF EXISTS line;
CREATE TABLE IF NOT EXISTS list_templates (
    key         serial PRIMARY KEY,
    template_id text NOT NULL,
    fingerprint text NOT NULL,
    UNIQUE (template_id, fingerprint)
);
-- Room in each page for the line's next version, as for run_summary (HOT updates). The line's
-- UTF-8 bytes: the reader gets the joined lines as they are, not decoded into a str to be
-- encoded again.
CREATE TABLE IF NOT EXISTS run_lines (
    run_id text  PRIMARY KEY,
    line   bytea NOT NULL
) WITH (fillfactor = 70);

-- Microseconds since 1970 of an event's time (ISO 8601, UTC, as the store stamps them).
CREATE OR REPLACE FUNCTION prodex_micros(at text) RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT (extract(epoch FROM at::timestamptz) * 1000000)::bigint $$;

-- A summary row's line, kept as the row is written (by the trigger below, or by hand).
CREATE OR REPLACE FUNCTION prodex_keep_line() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE k integer;
BEGIN
    SELECT key INTO k FROM list_templates
        WHERE template_id = NEW.template_id AND fingerprint = NEW.fingerprint;
    IF k IS NULL THEN  -- a new template (looked up first: a serial's value is drawn each time)
        INSERT INTO list_templates (template_id, fingerprint)
            VALUES (NEW.template_id, NEW.fingerprint) ON CONFLICT DO NOTHING RETURNING key INTO k;
        IF k IS NULL THEN  -- entered meanwhile by another transaction, now committed
            SELECT key INTO k FROM list_templates
                WHERE template_id = NEW.template_id AND fingerprint = NEW.fingerprint;
        END IF;
    END IF;
    INSERT INTO run_lines (run_id, line) VALUES (NEW.run_id, {line("NEW", "k")})
        ON CONFLICT (run_id) DO UPDATE SET line = excluded.line;
    RETURN NULL;
END $$;
INSERT INTO list_templates (template_id, fingerprint)
    SELECT DISTINCT template_id, fingerprint FROM run_summary ON CONFLICT DO NOTHING;
INSERT INTO run_lines (run_id, line)
    SELECT s.run_id, {line("s", "t.key")}
    FROM run_summary s JOIN list_templates t USING (template_id, fingerprint)
    ON CONFLICT DO NOTHING;
DROP TRIGGER IF EXISTS run_summary_line ON run_summary;
CREATE TRIGGER run_summary_line AFTER INSERT OR UPDATE ON run_summary
    FOR EACH ROW EXECUTE FUNCTION prodex_keep_line();

-- Derived rows, as events are inserted (node events only add an artifact reference).
CREATE OR REPLACE FUNCTION prodex_index_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE p jsonb; pairs jsonb;
BEGIN
    IF NEW.kind = 'node_produced' THEN
        -- payloads are compact JSON: a stored table's event holds "artifact":"<sha256>"
        IF strpos(NEW.payload, '"artifact":"') > 0 THEN
            p := NEW.payload::jsonb;
            IF p->>'artifact' IS NOT NULL THEN
                INSERT INTO artifact_refs VALUES (p->>'artifact', NEW.run_id)
                    ON CONFLICT DO NOTHING;
            END IF;
        END IF;
        RETURN NULL;
    END IF;
    p := NEW.payload::jsonb;
    IF NEW.kind = 'run_created' THEN
        pairs := coalesce((SELECT jsonb_agg(jsonb_build_array(i.key, prodex_basename(i.value))
                                            ORDER BY i.o)
                           FROM json_each_text(NEW.payload::json -> 'inputs')
                                WITH ORDINALITY AS i(key, value, o)), '[]'::jsonb);
        INSERT INTO run_summary
            (run_id, template_id, fingerprint, created_at, n_gates, status, resolved, last_at,
             inputs, inputs_shown)
        SELECT r.run_id, r.template_id, r.fingerprint, r.created_at,
            jsonb_array_length(p->'gates'), 'pending', 0, NEW.at, pairs,
            prodex_shown_inputs(pairs)
        FROM runs r WHERE r.run_id = NEW.run_id
        ON CONFLICT (run_id) DO NOTHING;
    ELSIF NEW.kind = 'run_status' THEN
        UPDATE run_summary SET status = p->>'status', last_at = NEW.at
            WHERE run_id = NEW.run_id;
    ELSIF NEW.kind = 'input_consumed' THEN
        SELECT prodex_set_pair(inputs, p->>'node_id',
                prodex_basename(p->>'path') || ' (' || substr(p->>'sha256', 1, 8) || ')')
            INTO pairs FROM run_summary WHERE run_id = NEW.run_id;
        UPDATE run_summary SET last_at = NEW.at, inputs = pairs,
                inputs_shown = prodex_shown_inputs(pairs)
            WHERE run_id = NEW.run_id;
        IF coalesce((p->>'snapshot')::boolean, false) THEN
            INSERT INTO artifact_refs VALUES (p->>'sha256', NEW.run_id) ON CONFLICT DO NOTHING;
        END IF;
    ELSIF NEW.kind = 'gate_decided' THEN
        INSERT INTO gate_states (run_id, gate_id, decision)
            VALUES (NEW.run_id, p->>'gate_id', p->>'decision')
            ON CONFLICT (run_id, gate_id) DO UPDATE SET decision = excluded.decision;
        UPDATE run_summary SET last_at = NEW.at, resolved = (
                SELECT count(*) FROM gate_states g
                WHERE g.run_id = NEW.run_id AND g.decision <> 'reopened')
            WHERE run_id = NEW.run_id;
        PERFORM pg_notify('{DECISIONS_CHANNEL}', NEW.run_id);
    ELSIF NEW.kind IN ('gate_posed', 'node_failed') THEN
        UPDATE run_summary SET last_at = NEW.at WHERE run_id = NEW.run_id;
    ELSE
        RETURN NULL;
    END IF;
    INSERT INTO idx_run_marks (run_id, seq, kind, at, status)
        SELECT NEW.run_id, NEW.seq, NEW.kind, NEW.at, s.status FROM run_summary s
        WHERE s.run_id = NEW.run_id
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS events_index ON events;
-- Version 5: a node's scalar result (no artifact) no longer enters the function, whose call cost
-- more than the insert itself; the WHEN test is evaluated without a call.
CREATE TRIGGER events_index AFTER INSERT ON events
    FOR EACH ROW WHEN (NEW.kind <> 'node_started' AND (NEW.kind <> 'node_produced'
        OR strpos(NEW.payload, '"artifact":"') > 0))
    EXECUTE FUNCTION prodex_index_event();

DELETE FROM prodex_schema;
INSERT INTO prodex_schema (version) VALUES ({VERSION});
"""
