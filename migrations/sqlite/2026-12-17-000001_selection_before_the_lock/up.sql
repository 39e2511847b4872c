-- Nothing on SQLite: its writes are one at a time in any case, so a draft
-- records its run and then its selection, as before (PostgreSQL's migration
-- of the same name lets the selection be written first, outside the
-- project's lock).
SELECT 1;
