ALTER TABLE distribution_selections
    ALTER CONSTRAINT distribution_selections_distribution_id_fkey NOT DEFERRABLE;
