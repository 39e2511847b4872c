DROP TRIGGER IF EXISTS postings_keep_restricted_money;
DROP TRIGGER IF EXISTS releases_of_restricted_grants;
DROP TRIGGER IF EXISTS releases_are_kept;
DROP TRIGGER IF EXISTS releases_are_immutable;
DROP TABLE releases;
DROP TRIGGER IF EXISTS grants_unrestricted_are_distributable;
-- The `release` kind stays allowed in `transactions` (a rebuild back would
-- refuse the releases already posted); the column stays, unused.
