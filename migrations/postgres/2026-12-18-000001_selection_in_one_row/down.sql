ALTER TABLE distribution_selections DROP COLUMN contribution_seqs;
