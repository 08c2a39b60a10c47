-- The statements of `one_by_one.sql`, sent as the host sends them (`store/sql/pg.rs`): what
-- nobody waits for goes with the next statement that needs an answer, or with the COMMIT.
-- 7 round trips: the epoch; the start, its commit; the case step's transaction up to the
-- case's insert, then the rest with the commit; the end (its lease checked by the update's
-- count before the commit), its commit.
\set id random(1, 1000000000000)
SELECT n FROM access_epoch WHERE id = 1;
\startpipeline
BEGIN;
INSERT INTO runs VALUES (:id, 'three', 'ws', 'running', repeat('d', 500), 1, NULL, 'host') RETURNING id;
\endpipeline
COMMIT;
\startpipeline
BEGIN;
INSERT INTO step_executions (run_id, step_key, detail) SELECT :id, 'normalize', repeat('x', 200) WHERE NOT EXISTS (SELECT 1 FROM run_steps WHERE run_id = :id AND step_key = 'normalize');
INSERT INTO run_steps VALUES (:id, 'normalize', 1, 'succeeded', repeat('o', 100)) ON CONFLICT DO NOTHING;
INSERT INTO step_executions (run_id, step_key, detail) SELECT :id, 'echo', repeat('x', 200) WHERE NOT EXISTS (SELECT 1 FROM run_steps WHERE run_id = :id AND step_key = 'echo');
INSERT INTO run_steps VALUES (:id, 'echo', 2, 'succeeded', repeat('o', 100)) ON CONFLICT DO NOTHING;
SELECT pg_advisory_xact_lock(hashtextextended('flowhost workspace ' || :ws, 0));
INSERT INTO cases VALUES (:id, :ws, (SELECT coalesce(max(number), 0) + 1 FROM cases WHERE workspace_id = :ws), 'bench', '{}', 'k' || :id, 1) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, number;
\endpipeline
\startpipeline
INSERT INTO case_timeline (case_id, kind, details) VALUES (:id, 'created', '{}');
INSERT INTO audit_log (workspace, number, action, details) VALUES (:ws, (SELECT coalesce(max(number), 0) + 1 FROM audit_log WHERE workspace = :ws::text), 'case.create', '{}');
INSERT INTO events (workspace, kind, payload) VALUES (:ws, 'case_created', repeat('p', 300));
COMMIT;
\endpipeline
\startpipeline
BEGIN;
INSERT INTO run_steps VALUES (:id, 'open', 3, 'succeeded', repeat('o', 100)) ON CONFLICT DO NOTHING;
UPDATE runs SET status = 'succeeded', finished_at = 2, lease_owner = NULL WHERE id = :id;
\endpipeline
COMMIT;
