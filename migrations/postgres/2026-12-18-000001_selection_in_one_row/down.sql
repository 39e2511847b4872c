DROP TRIGGER distribution_selections_exist ON distribution_selections;
DROP FUNCTION distribution_selections_exist();
ALTER TABLE distribution_selections DROP COLUMN contribution_seqs;
