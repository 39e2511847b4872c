-- Nothing on SQLite, which has no arrays: a run's selection stays a row a
-- counted contribution in distribution_selected (PostgreSQL's migration of
-- the same name keeps it in one row of distribution_selections).
SELECT 1;
