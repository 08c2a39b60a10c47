-- One run of the 3-step workflow, statement by statement as the server logs it (round trip
-- by round trip): the access epoch read as the run begins; its start; the epoch read as each
-- of its three steps begins; the case step's transaction (the two earlier steps' journal
-- entries carried, the workspace's lock, the idempotency look-up, the case, its timeline,
-- audit entry and event); the end. Row ids are random (no host draws them here).
\set id random(1, 1000000000000)
SELECT n FROM access_epoch WHERE id = 1;
BEGIN;
INSERT INTO runs VALUES (:id, 'three', 'ws', 'running', repeat('d', 500), 1, NULL, 'host');
COMMIT;
SELECT n FROM access_epoch WHERE id = 1;
SELECT n FROM access_epoch WHERE id = 1;
SELECT n FROM access_epoch WHERE id = 1;
BEGIN;
INSERT INTO run_steps VALUES (:id, 'normalize', 1, 'succeeded', repeat('o', 100));
INSERT INTO step_executions (run_id, step_key, detail) VALUES (:id, 'normalize', repeat('x', 200));
INSERT INTO run_steps VALUES (:id, 'echo', 2, 'succeeded', repeat('o', 100));
INSERT INTO step_executions (run_id, step_key, detail) VALUES (:id, 'echo', repeat('x', 200));
SELECT pg_advisory_xact_lock(hashtextextended('flowhost workspace ' || :ws, 0));
SELECT id FROM cases WHERE idempotency_key = 'k' || :id;
INSERT INTO cases VALUES (:id, :ws, (SELECT coalesce(max(number), 0) + 1 FROM cases WHERE workspace_id = :ws), 'bench', '{}', 'k' || :id, 1);
INSERT INTO case_timeline (case_id, kind, details) VALUES (:id, 'created', '{}');
INSERT INTO audit_log (workspace, number, action, details) VALUES (:ws, (SELECT coalesce(max(number), 0) + 1 FROM audit_log WHERE workspace = :ws::text), 'case.create', '{}');
INSERT INTO events (workspace, kind, payload) VALUES (:ws, 'case_created', repeat('p', 300));
COMMIT;
BEGIN;
INSERT INTO run_steps VALUES (:id, 'open', 3, 'succeeded', repeat('o', 100));
UPDATE runs SET status = 'succeeded', finished_at = 2, lease_owner = NULL WHERE id = :id;
COMMIT;
