-- A distribution draft records its selection, a row per counted
-- contribution (a million for a large period). Rows naming a run and a
-- contribution by 36-character ids were about 80 bytes each, with their key;
-- named by integers they are a few bytes, and the draft writes, sorts and
-- checks a fraction of the data (docs/benchmarks.md, "A selection named by
-- numbers").
--
-- A contribution's number is `seq`, its row id made a column: an INTEGER
-- PRIMARY KEY keeps its values through VACUUM (an implicit row id may not),
-- costs no storage of its own and ends every entry of the table's indexes,
-- so the draft's index already holds it. SQLite adds no primary key to a
-- table: the table is rebuilt with the same rows, row ids as `seq`. Foreign
-- keys are off while it is replaced (diesel does not wrap this migration in
-- a transaction, as the pragma is ignored inside one), and the whole
-- rebuild is one transaction of its own. It can run again over its own
-- result (the copy keeps `seq`, the row id; the new tables and their
-- triggers are made if missing), so a stop between its commit and diesel's
-- record of it leaves nothing to mend by hand.
PRAGMA foreign_keys = OFF;
PRAGMA legacy_alter_table = ON;
BEGIN IMMEDIATE;
CREATE TABLE contributions_rebuilt (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE CHECK (length(id) = 36),
    project_id TEXT NOT NULL REFERENCES projects (id),
    agent_id TEXT NOT NULL REFERENCES agents (id),
    kind TEXT NOT NULL CHECK (kind IN ('time', 'equipment', 'data')),
    date DATE NOT NULL,
    -- In minor units of the quantity's unit (hundredths of an hour or day).
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    unit TEXT NOT NULL CHECK (unit IN ('hour', 'day', 'dataset')),
    description TEXT NOT NULL,
    skill TEXT,
    equipment TEXT,
    dataset_title TEXT,
    dataset_uri TEXT,
    dataset_size_bytes BIGINT CHECK (dataset_size_bytes IS NULL OR dataset_size_bytes >= 0),
    dataset_checksum TEXT,
    licence TEXT,
    -- The valuation, computed once at recording from the rate in force.
    rate_id TEXT REFERENCES rates (id),
    value BIGINT CHECK (value IS NULL OR value >= 0),
    currency TEXT REFERENCES units (code),
    supersedes_id TEXT REFERENCES contributions (id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    recorded_by TEXT NOT NULL REFERENCES agents (id),
    recorded_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP,
    CHECK ((rate_id IS NULL) = (value IS NULL) AND (value IS NULL) = (currency IS NULL)),
    CHECK (kind <> 'equipment' OR equipment IS NOT NULL),
    CHECK (kind <> 'data' OR (dataset_title IS NOT NULL AND licence IS NOT NULL AND unit = 'dataset'))
);
INSERT INTO contributions_rebuilt (seq, id, project_id, agent_id, kind, date, quantity, unit,
    description, skill, equipment, dataset_title, dataset_uri, dataset_size_bytes,
    dataset_checksum, licence, rate_id, value, currency, supersedes_id, status, recorded_by,
    recorded_at, decided_at)
SELECT rowid, id, project_id, agent_id, kind, date, quantity, unit,
    description, skill, equipment, dataset_title, dataset_uri, dataset_size_bytes,
    dataset_checksum, licence, rate_id, value, currency, supersedes_id, status, recorded_by,
    recorded_at, decided_at
FROM contributions ORDER BY rowid;
DROP TABLE contributions;
ALTER TABLE contributions_rebuilt RENAME TO contributions;

-- The indexes and triggers the table had, as the migrations before made
-- them; the guard against edits now covers `seq` too.
CREATE INDEX contributions_by_project_date ON contributions (project_id, date);
CREATE INDEX contributions_by_agent ON contributions (agent_id, project_id);
CREATE INDEX contributions_counted
    ON contributions (project_id, status, date, currency, agent_id, kind, value, id);
CREATE INDEX contributions_corrections
    ON contributions (supersedes_id, project_id) WHERE supersedes_id IS NOT NULL;
CREATE TRIGGER contributions_change_only_by_review BEFORE UPDATE ON contributions
WHEN OLD.status <> 'pending' OR NEW.status = 'pending' OR NEW.seq IS NOT OLD.seq
    OR NEW.id IS NOT OLD.id OR NEW.project_id IS NOT OLD.project_id OR NEW.agent_id IS NOT OLD.agent_id
    OR NEW.kind IS NOT OLD.kind OR NEW.date IS NOT OLD.date OR NEW.quantity IS NOT OLD.quantity
    OR NEW.unit IS NOT OLD.unit OR NEW.value IS NOT OLD.value OR NEW.rate_id IS NOT OLD.rate_id
    OR NEW.currency IS NOT OLD.currency OR NEW.licence IS NOT OLD.licence
    OR NEW.supersedes_id IS NOT OLD.supersedes_id OR NEW.description IS NOT OLD.description
    OR NEW.skill IS NOT OLD.skill OR NEW.equipment IS NOT OLD.equipment OR NEW.recorded_by IS NOT OLD.recorded_by
    OR NEW.recorded_at IS NOT OLD.recorded_at OR NEW.dataset_title IS NOT OLD.dataset_title
    OR NEW.dataset_uri IS NOT OLD.dataset_uri OR NEW.dataset_size_bytes IS NOT OLD.dataset_size_bytes
    OR NEW.dataset_checksum IS NOT OLD.dataset_checksum
BEGIN SELECT RAISE(ABORT, 'contributions are never edited: record a correction'); END;
CREATE TRIGGER contributions_are_kept BEFORE DELETE ON contributions
BEGIN SELECT RAISE(ABORT, 'contributions are never deleted'); END;
CREATE TRIGGER contribution_decisions_revise AFTER UPDATE OF status ON contributions
BEGIN UPDATE project_revisions SET revision = revision + 1 WHERE project_id = NEW.project_id; END;
CREATE TRIGGER contribution_corrections_revise AFTER INSERT ON contributions
WHEN NEW.supersedes_id IS NOT NULL OR NEW.status <> 'pending'
BEGIN UPDATE project_revisions SET revision = revision + 1 WHERE project_id = NEW.project_id; END;
CREATE TRIGGER contributions_stay_out_of_closed_periods BEFORE INSERT ON contributions
WHEN NEW.date <= (SELECT p.closed_through FROM projects p WHERE p.id = NEW.project_id)
BEGIN SELECT RAISE(ABORT, 'the period is closed'); END;
CREATE TRIGGER contributions_are_not_decided_in_closed_periods BEFORE UPDATE OF status ON contributions
WHEN NEW.status <> OLD.status
    AND NEW.date <= (SELECT p.closed_through FROM projects p WHERE p.id = NEW.project_id)
BEGIN SELECT RAISE(ABORT, 'the period is closed'); END;

-- A run's selection from now on: a number for the run's selection (one
-- row a run), then a row per counted contribution naming both by number.
-- Runs drafted before keep theirs in distribution_contributions.
CREATE TABLE IF NOT EXISTS distribution_selections (
    seq INTEGER PRIMARY KEY,
    distribution_id TEXT NOT NULL UNIQUE REFERENCES distributions (id)
);
CREATE TABLE IF NOT EXISTS distribution_selected (
    selection_seq INTEGER NOT NULL REFERENCES distribution_selections (seq),
    contribution_seq INTEGER NOT NULL REFERENCES contributions (seq),
    PRIMARY KEY (selection_seq, contribution_seq)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS distribution_selections_are_kept BEFORE DELETE ON distribution_selections
BEGIN SELECT RAISE(ABORT, 'a run''s selection is never changed'); END;
CREATE TRIGGER IF NOT EXISTS distribution_selections_are_immutable BEFORE UPDATE ON distribution_selections
BEGIN SELECT RAISE(ABORT, 'a run''s selection is never changed'); END;
CREATE TRIGGER IF NOT EXISTS distribution_selected_are_kept BEFORE DELETE ON distribution_selected
BEGIN SELECT RAISE(ABORT, 'a run''s selection is never changed'); END;
CREATE TRIGGER IF NOT EXISTS distribution_selected_are_immutable BEFORE UPDATE ON distribution_selected
BEGIN SELECT RAISE(ABORT, 'a run''s selection is never changed'); END;
COMMIT;
PRAGMA legacy_alter_table = OFF;
PRAGMA foreign_keys = ON;
