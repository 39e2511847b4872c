-- Nothing on SQLite: a posting's key to its transaction stays, checked in
-- the service's process (the PostgreSQL migration of this name replaces it
-- by a check once a statement).
SELECT 1;
