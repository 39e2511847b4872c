DROP TABLE in_kind_allocations;
