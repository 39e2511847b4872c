DROP FUNCTION insert_transaction;
