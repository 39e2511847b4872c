//! commons-ledger: the books of a citizen-science or open-science commons.
//!
//! `domain` holds the pure rules, `db` the storage over SQLite or PostgreSQL,
//! `ops` the use cases that span them, `write_pipeline` the group commit
//! every write goes through, `routes` the HTTP API and `startup` wires them
//! into a running server.

pub mod admin;
pub mod auth;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod http;
pub mod metrics;
pub mod ops;
pub mod routes;
pub mod startup;
pub mod telemetry;
pub mod web;
pub mod write_pipeline;
