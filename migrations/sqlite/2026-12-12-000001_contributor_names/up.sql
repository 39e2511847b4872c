-- How a project names its contributors to readers of its books: by name,
-- by initials, or not at all (the default, as before this setting).
ALTER TABLE projects ADD COLUMN contributor_names TEXT NOT NULL DEFAULT 'hidden'
    CHECK (contributor_names IN ('hidden', 'initials', 'names'));
