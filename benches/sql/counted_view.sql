-- The run's selection as the draft's INSERT ... SELECT reads it (COUNTED of
-- src/db/contributions.rs, with the seeded project, period and run), as a
-- view of the floor's database: what the floor's variants write. The run's
-- selection is numbered first, as a draft does.
INSERT INTO distribution_selections (distribution_id) VALUES ('d0000000-0000-7000-8000-000000000001');
CREATE VIEW counted AS
SELECT s.seq AS selection_seq, c.seq AS contribution_seq FROM contributions c
JOIN distributions d ON d.project_id = c.project_id AND d.currency = c.currency
JOIN distribution_selections s ON s.distribution_id = d.id
WHERE c.project_id = '00000000-0000-7000-8000-000000000001' AND c.status = 'approved'
  AND c.date >= '2026-03-01' AND c.date <= '2026-03-31' AND c.value IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM contributions r WHERE r.supersedes_id = c.id
                  AND r.project_id = c.project_id AND r.status = 'approved')
  AND d.id = 'd0000000-0000-7000-8000-000000000001';
