//! commons-ledger: the books of a citizen-science or open-science commons.
//!
//! `domain` holds the pure rules, `db` the storage over SQLite or PostgreSQL,
//! `routes` the HTTP API and `startup` wires them into a running server.

pub mod admin;
pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod metrics;
pub mod routes;
pub mod startup;
pub mod telemetry;
