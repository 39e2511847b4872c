DROP TABLE memberships;
DROP TABLE agents;
