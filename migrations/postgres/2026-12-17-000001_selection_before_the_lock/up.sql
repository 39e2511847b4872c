-- A draft's selection is written before its run's row, outside the
-- project's lock (ops::distributions::stage_selection): the selection names
-- a run that its own transaction inserts a moment later, so the key to the
-- run is checked when the transaction commits, not at each statement. A
-- selection naming no run still never commits.
ALTER TABLE distribution_selections
    ALTER CONSTRAINT distribution_selections_distribution_id_fkey DEFERRABLE INITIALLY DEFERRED;
