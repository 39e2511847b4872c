//! Every list's `cursor` is checked before anything reaches the database:
//! one that is not hex, not UTF-8, or decodes to anything but a sort key of
//! that list (a NUL above all, which PostgreSQL refuses) is answered 400
//! `invalid_cursor` on both backends, with or without a token.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, assert_problem, json_of};
use crate::on_both_backends;

on_both_backends!(
    malformed_cursors_are_refused_on_every_list,
    an_anonymous_cursor_holding_nul_is_refused
);

/// What a list is sorted by, and so what its cursor holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Id,
    AccountName,
    Number,
}

/// The key of each list, by path template. Every GET with a `cursor`
/// parameter in the spec must be here (checked below), so a new list cannot
/// miss this test.
const LISTS: [(&str, Key); 21] = [
    ("/v1/agents", Key::Id),
    ("/v1/projects", Key::Id),
    ("/v1/projects/{project_id}/members", Key::Id),
    ("/v1/projects/{project_id}/invitations", Key::Id),
    ("/v1/me/invitations", Key::Id),
    ("/v1/projects/{project_id}/accounts", Key::AccountName),
    ("/v1/projects/{project_id}/balances", Key::AccountName),
    ("/v1/projects/{project_id}/transactions", Key::Number),
    ("/v1/projects/{project_id}/contributions", Key::Id),
    ("/v1/projects/{project_id}/contributors", Key::Id),
    ("/v1/projects/{project_id}/distributions", Key::Id),
    ("/v1/projects/{project_id}/grants", Key::Id),
    (
        "/v1/projects/{project_id}/grants/{grant_id}/releases",
        Key::Id,
    ),
    (
        "/v1/projects/{project_id}/grants/{grant_id}/in-kind",
        Key::Id,
    ),
    ("/v1/projects/{project_id}/payouts", Key::Id),
    ("/v1/projects/{project_id}/expenses", Key::Id),
    ("/v1/projects/{project_id}/rates", Key::Id),
    ("/v1/projects/{project_id}/rule-sets", Key::Number),
    ("/v1/projects/{project_id}/claims", Key::Id),
    ("/v1/projects/{project_id}/closings", Key::Id),
    ("/v1/projects/{project_id}/events", Key::Number),
];

fn paginated_paths() -> Vec<String> {
    let spec = serde_json::to_value(commons_ledger::startup::openapi()).expect("spec");
    let mut paths: Vec<String> = spec["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .filter(|(_, item)| {
            item["get"]["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "cursor"))
        })
        .map(|(path, _)| path.clone())
        .collect();
    paths.sort();
    paths
}

#[test]
fn the_table_covers_every_paginated_list() {
    let mut table: Vec<String> = LISTS.iter().map(|(path, _)| (*path).to_owned()).collect();
    table.sort();
    assert_eq!(table, paginated_paths());
}

async fn malformed_cursors_are_refused_on_every_list(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let uuid_like = hex::encode("01a21ef2-a45e-75d0-ae2f-2fd83ccd1ad8");
    let malformed: [(String, &str, &[Key]); 10] = [
        (
            "00".to_owned(),
            "a lone NUL",
            &[Key::Id, Key::AccountName, Key::Number],
        ),
        (
            hex::encode("pool\0general"),
            "a NUL inside",
            &[Key::Id, Key::AccountName, Key::Number],
        ),
        (
            format!("{uuid_like}00"),
            "a NUL after an id",
            &[Key::Id, Key::AccountName, Key::Number],
        ),
        (
            "ff".to_owned(),
            "not UTF-8",
            &[Key::Id, Key::AccountName, Key::Number],
        ),
        (
            "zz".to_owned(),
            "not hex",
            &[Key::Id, Key::AccountName, Key::Number],
        ),
        (
            "abc".to_owned(),
            "odd length",
            &[Key::Id, Key::AccountName, Key::Number],
        ),
        (
            hex::encode("' OR 1=1 --"),
            "no key of any list",
            &[Key::Id, Key::AccountName, Key::Number],
        ),
        (
            hex::encode("pool:general"),
            "an account name for an id",
            &[Key::Id, Key::Number],
        ),
        (uuid_like.clone(), "an id for a number", &[Key::Number]),
        (
            hex::encode("-1"),
            "a negative number",
            &[Key::Number, Key::Id, Key::AccountName],
        ),
    ];
    let funder = json_of(
        app.post("/v1/agents", &json!({"kind": "organisation", "name": "F"}))
            .await,
    )
    .await;
    let grant = json_of(
        app.post(
            &format!("/v1/projects/{project}/grants"),
            &json!({"funder": funder["id"], "kind": "grant", "reference": "R1", "restriction": "r",
                    "amount": "1.00", "currency": "EUR", "received_on": "2026-02-01"}),
        )
        .await,
    )
    .await;
    let grant = grant["id"].as_str().expect("grant");
    for (template, key) in LISTS {
        let path = template
            .replace("{project_id}", &project)
            .replace("{grant_id}", grant);
        for (cursor, rule, refused_for) in &malformed {
            if !refused_for.contains(&key) {
                continue;
            }
            assert_problem(
                app.get(&format!("{path}?cursor={cursor}")).await,
                400,
                "invalid_cursor",
                &format!("{path}: {rule}"),
            )
            .await;
        }
        // A cursor of the right shape is accepted (it need not name an item).
        let good = match key {
            Key::Id => uuid_like.clone(),
            Key::AccountName => hex::encode("pool:general"),
            Key::Number => hex::encode("1"),
        };
        let response = app.get(&format!("{path}?cursor={good}")).await;
        assert_eq!(response.status(), 200, "{path}: a well-formed cursor");
        assert!(json_of(response).await["items"].is_array());
    }
}

async fn an_anonymous_cursor_holding_nul_is_refused(app: &TestApp) {
    let response = app
        .send_as(None, Method::GET, "/v1/projects?cursor=00", None)
        .await;
    assert_problem(response, 400, "invalid_cursor", "no token, a NUL cursor").await;
}
