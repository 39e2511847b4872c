DROP TABLE claims;
DROP FUNCTION claims_decided_once();
