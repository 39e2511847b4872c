-- benches/sql/seed_distribution.sql for PostgreSQL: the same rows, with
-- triggers and foreign keys left out while seeding (session_replication_role).
SET session_replication_role = replica;
INSERT INTO units VALUES ('EUR', 2, 'currency');
INSERT INTO projects (id, name, currency, created_at, last_hash)
VALUES ('00000000-0000-7000-8000-000000000001', 'P', 'EUR', '2026-01-01 00:00:00', 'x');
INSERT INTO agents (id, kind, name, created_at)
SELECT 'a' || lpad(to_hex(i), 7, '0') || '-0000-7000-8000-000000000000', 'person', 'A' || i, '2026-01-01 00:00:00'
FROM generate_series(1, 10000) AS i;
INSERT INTO rates (id, project_id, kind, per, effective_from, rate, currency, method, source, created_by, created_at)
VALUES ('00000000-0000-7000-8000-0000000000r1', '00000000-0000-7000-8000-000000000001', 'time', 'hour',
        '2026-01-01', 2500, 'EUR', 'm', 's', 'a0000001-0000-7000-8000-000000000000', '2026-01-01 00:00:00');
INSERT INTO contributions (id, project_id, agent_id, kind, date, quantity, unit, description, rate_id,
                           value, currency, status, recorded_by, recorded_at)
SELECT 'c' || lpad(to_hex(i), 7, '0') || '-0000-7000-8000-' || lpad(to_hex(i), 12, '0'),
       '00000000-0000-7000-8000-000000000001',
       'a' || lpad(to_hex((i % 10000) + 1), 7, '0') || '-0000-7000-8000-000000000000', 'time',
       DATE '2026-03-01' + (i % 31), 100, 'hour', 'w',
       '00000000-0000-7000-8000-0000000000r1', 2500, 'EUR', 'approved',
       'a0000001-0000-7000-8000-000000000000', '2026-03-01 00:00:00'
FROM generate_series(1, 1000000) AS i;
INSERT INTO distributions (id, project_id, rule_set_version, pool_account, currency, amount,
                           period_from, period_to, status, inputs, plan, residue, created_by, created_at)
VALUES ('d0000000-0000-7000-8000-000000000001', '00000000-0000-7000-8000-000000000001', 1, 'pool',
        'EUR', 100, '2026-03-01', '2026-03-31', 'draft', '{}', '{}', 0,
        'a0000001-0000-7000-8000-000000000000', '2026-03-01 00:00:00');
SET session_replication_role = origin;
ANALYZE;
