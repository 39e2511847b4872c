DROP TABLE in_kind_allocations;
DROP FUNCTION in_kind_allocations_check();
