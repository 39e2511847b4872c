-- The distribution scenario's data straight into a migrated SQLite database:
-- one project, 10,000 contributors, 1,000,000 approved time contributions
-- in March 2026 (a run of benches/sql/distribution_floor.sh; foreign keys are
-- off while seeding, as sqlite3 starts).
PRAGMA journal_mode = WAL;
INSERT INTO units VALUES ('EUR', 2, 'currency');
INSERT INTO projects (id, name, currency, created_at, last_hash)
VALUES ('00000000-0000-7000-8000-000000000001', 'P', 'EUR', '2026-01-01 00:00:00', 'x');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
INSERT INTO agents (id, kind, name, created_at)
SELECT printf('a%07x-0000-7000-8000-000000000000', i), 'person', 'A' || i, '2026-01-01 00:00:00' FROM n;
INSERT INTO rates (id, project_id, kind, per, effective_from, rate, currency, method, source, created_by, created_at)
VALUES ('00000000-0000-7000-8000-0000000000r1', '00000000-0000-7000-8000-000000000001', 'time', 'hour',
        '2026-01-01', 2500, 'EUR', 'm', 's', 'a0000001-0000-7000-8000-000000000000', '2026-01-01 00:00:00');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
INSERT INTO contributions (id, project_id, agent_id, kind, date, quantity, unit, description, rate_id,
                           value, currency, status, recorded_by, recorded_at)
SELECT printf('c%07x-0000-7000-8000-%012x', i, i), '00000000-0000-7000-8000-000000000001',
       printf('a%07x-0000-7000-8000-000000000000', (i % 10000) + 1), 'time',
       date('2026-03-01', '+' || (i % 31) || ' days'), 100, 'hour', 'w',
       '00000000-0000-7000-8000-0000000000r1', 2500, 'EUR', 'approved',
       'a0000001-0000-7000-8000-000000000000', '2026-03-01 00:00:00'
FROM n;
INSERT INTO distributions (id, project_id, rule_set_version, pool_account, currency, amount,
                           period_from, period_to, status, inputs, plan, residue, created_by, created_at)
VALUES ('d0000000-0000-7000-8000-000000000001', '00000000-0000-7000-8000-000000000001', 1, 'pool',
        'EUR', 100, '2026-03-01', '2026-03-31', 'draft', '{}', '{}', 0,
        'a0000001-0000-7000-8000-000000000000', '2026-03-01 00:00:00');
