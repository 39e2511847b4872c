-- Nothing on SQLite: the database runs in the service's process, so a
-- statement costs no round trip, and a transaction's rows are inserted by
-- one statement each (PostgreSQL's migration of the same name saves the
-- trips between them with a function).
SELECT 1;
