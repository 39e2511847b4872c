//! API tests: the real application on a random port, against a fresh database
//! per test (a temporary SQLite file, or a fresh PostgreSQL database when
//! `COMMONS_LEDGER_TEST_POSTGRES_URL` is set).

mod helpers;

mod accounts;
mod allocation_fixtures;
mod arithmetic;
mod auth;
mod authorization;
mod balances_by_date;
mod batches;
mod bundles;
mod claims;
mod cli;
mod closings;
mod computations;
mod concurrency;
mod contributions;
mod contributors;
mod csv_injection;
mod currencies;
mod cursors;
mod database_invariants;
mod database_roles;
mod demo;
mod distribution_selection;
mod distributions;
mod events;
mod external_tokens;
mod four_eyes;
mod funder_reports;
mod funds;
mod health;
mod idempotency;
mod imports;
mod in_kind;
mod invitations;
mod limits;
mod money_properties;
mod openapi;
mod password_hashing;
mod projects;
mod read_only;
mod reports;
mod reservations;
mod restrictions;
mod statements;
mod stored_values;
mod story;
mod transactions;
mod value_totals;
mod verification;
mod web;
mod write_pipeline;
