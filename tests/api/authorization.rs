//! Every operation of the OpenAPI document, tried by every kind of caller:
//! an operation the table does not know fails the test, so no endpoint can
//! ship without an authorization decision.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, insert_agent, json_of, transfer_body};
use crate::on_both_backends;

on_both_backends!(
    every_operation_has_an_authorization_decision,
    public_projects_are_readable_by_anyone
);

/// The callers, in the order of the expectation arrays below.
const CALLERS: [&str; 7] = [
    "none",
    "outsider",
    "contributor",
    "auditor",
    "treasurer",
    "owner",
    "admin",
];

struct Fixture {
    project: String,
    tokens: Vec<Option<String>>,
    /// The callers' agent ids, in `CALLERS` order (none for no token).
    agents: Vec<Option<String>>,
    /// A contributor who is none of the callers: their work is reviewed and
    /// their value account read.
    subject: String,
    subject_token: String,
    grant: String,
    /// A restricted grant, whose money may be released.
    restricted: String,
}

/// Expected status per caller, in `CALLERS` order.
fn expected(operation: &str) -> [u16; 7] {
    match operation {
        "get_health" | "get_readiness" | "get_metrics" | "list_projects" | "get_signing_key" => {
            [200; 7]
        }
        "create_token" => [200; 7],
        // Each caller signs out a token of its own, made for the purpose.
        "revoke_token" => [401, 204, 204, 204, 204, 204, 204],
        "get_me" | "list_agents" | "get_agent" => [401, 200, 200, 200, 200, 200, 200],
        "create_agent" | "create_project" => [401, 201, 201, 201, 201, 201, 201],
        "get_project" | "list_members" | "list_accounts" | "get_account" | "list_balances"
        | "list_transactions" | "get_transaction" => [404, 404, 200, 200, 200, 200, 200],
        "update_project" | "update_member" => [401, 404, 403, 403, 403, 200, 200],
        // Owners invite; only administrators add members directly.
        "add_member" => [401, 404, 403, 403, 403, 403, 201],
        "create_invitation" => [401, 404, 403, 403, 403, 201, 201],
        "list_invitations" => [404, 404, 200, 200, 200, 200, 200],
        "withdraw_invitation" => [401, 404, 403, 403, 403, 204, 204],
        "list_my_invitations" => [401, 200, 200, 200, 200, 200, 200],
        "create_acceptance" => [401, 201, 201, 201, 201, 201, 201],
        "decline_invitation" => [401, 204, 204, 204, 204, 204, 204],
        "remove_member" => [401, 404, 403, 403, 403, 204, 204],
        "create_account" | "create_transaction" | "create_reversal" | "create_rate"
        | "create_review" => [401, 404, 403, 403, 201, 201, 201],
        "create_transaction_batch" => [401, 404, 403, 403, 200, 200, 200],
        "list_rates" | "list_contributions" | "list_contributors" | "get_contribution" => {
            [404, 404, 200, 200, 200, 200, 200]
        }
        "create_contribution" => [401, 404, 201, 403, 201, 201, 201],
        "get_member_value_account" => [404, 404, 403, 200, 200, 200, 200],
        "get_my_value_account" => [401, 200, 200, 200, 200, 200, 200],
        "list_grants"
        | "get_grant"
        | "list_expenses"
        | "list_expense_categories"
        | "list_payouts"
        | "list_releases"
        | "list_in_kind_allocations"
        | "list_closings" => [404, 404, 200, 200, 200, 200, 200],
        "create_grant"
        | "create_expense_category"
        | "create_expense"
        | "create_payout"
        | "create_exchange"
        | "create_release"
        | "create_closing"
        | "create_in_kind_allocation" => [401, 404, 403, 403, 201, 201, 201],
        // Four eyes: a pending payout is decided by an owner or treasurer
        // other than its recorder (a fresh treasurer here).
        "approve_payout" | "reject_payout" | "approve_expense" | "reject_expense"
        | "approve_release" | "reject_release" => [401, 404, 403, 403, 201, 201, 201],
        "create_rule_set"
        | "create_distribution"
        | "create_approval"
        | "create_execution"
        | "create_cancellation" => [401, 404, 403, 403, 201, 201, 201],
        "list_rule_sets" | "get_rule_set" | "list_distributions" | "get_distribution" => {
            [404, 404, 200, 200, 200, 200, 200]
        }
        "export_journal_csv"
        | "export_journal_hledger"
        | "export_contributions_csv"
        | "export_grant_csv"
        | "export_distribution_csv"
        | "export_report_bundle"
        | "get_ledger_verification" => [404, 404, 200, 200, 200, 200, 200],
        "export_statement_csv" => [404, 404, 403, 200, 200, 200, 200],
        // The audit trail: owners, treasurers and auditors.
        "list_events" => [404, 404, 403, 200, 200, 200, 200],
        "create_contribution_import" => [401, 404, 201, 403, 201, 201, 201],
        // Expense claims: submitted by those who log their own work, read
        // like value accounts (the claim is the subject's, none of the
        // callers'), decided by owners and treasurers other than the claimant.
        "create_claim" => [401, 404, 201, 403, 201, 201, 201],
        "list_claims" => [404, 404, 200, 200, 200, 200, 200],
        "get_claim" => [404, 404, 403, 200, 200, 200, 200],
        "approve_claim" | "reject_claim" => [401, 404, 403, 403, 201, 201, 201],
        other => panic!("operation `{other}` has no authorization decision in this table: add one"),
    }
}

/// A request that the operation would accept from an authorized caller.
/// State that a request consumes (a member to remove, a transaction to
/// reverse) is made fresh for every attempt.
async fn request_for(
    app: &TestApp,
    fx: &Fixture,
    operation: &str,
    attempt: usize,
) -> (Method, String, Option<Value>) {
    let p = &fx.project;
    match operation {
        "get_health" => (Method::GET, "/healthz".into(), None),
        "get_readiness" => (Method::GET, "/readyz".into(), None),
        "get_metrics" => (Method::GET, "/metrics".into(), None),
        "get_signing_key" => (Method::GET, "/v1/signing-key".into(), None),
        "revoke_token" => (Method::DELETE, "/v1/auth/token".into(), None),
        "create_token" => {
            let email = format!(
                "login-{attempt}-{}@example.org",
                uuid::Uuid::now_v7().simple()
            );
            let response = app
                .post("/v1/agents", &json!({"kind": "person", "name": "Login", "email": email, "password": "a long enough password"}))
                .await;
            assert_eq!(response.status(), 201);
            (
                Method::POST,
                "/v1/auth/token".into(),
                Some(json!({"email": email, "password": "a long enough password"})),
            )
        }
        "get_me" => (Method::GET, "/v1/me".into(), None),
        "create_agent" => (
            Method::POST,
            "/v1/agents".into(),
            Some(json!({"kind": "organisation", "name": "Fondation Horizon"})),
        ),
        "list_agents" => (Method::GET, "/v1/agents".into(), None),
        "get_agent" => (Method::GET, format!("/v1/agents/{}", app.admin_id), None),
        "create_project" => (
            Method::POST,
            "/v1/projects".into(),
            Some(json!({"name": "Fablab", "currency": "EUR"})),
        ),
        "list_projects" => (Method::GET, "/v1/projects".into(), None),
        "get_project" => (Method::GET, format!("/v1/projects/{p}"), None),
        "update_project" => (
            Method::PATCH,
            format!("/v1/projects/{p}"),
            Some(json!({"name": "OpenAir Lyon"})),
        ),
        "list_members" => (Method::GET, format!("/v1/projects/{p}/members"), None),
        "add_member" => {
            let agent = insert_agent(&app.db, "newcomer", false);
            (
                Method::POST,
                format!("/v1/projects/{p}/members"),
                Some(json!({"agent": agent, "role": "contributor"})),
            )
        }
        "create_invitation" => {
            let agent = insert_agent(&app.db, "invitee", false);
            (
                Method::POST,
                format!("/v1/projects/{p}/invitations"),
                Some(json!({"agent": agent, "role": "contributor"})),
            )
        }
        "list_invitations" => (Method::GET, format!("/v1/projects/{p}/invitations"), None),
        "withdraw_invitation" => {
            let agent = insert_agent(&app.db, "invitee", false);
            let id = invite(app, p, &agent).await;
            (
                Method::DELETE,
                format!("/v1/projects/{p}/invitations/{id}"),
                None,
            )
        }
        "list_my_invitations" => (Method::GET, "/v1/me/invitations".into(), None),
        "create_acceptance" | "decline_invitation" => {
            // An invitation for the caller (for the anonymous caller, for
            // someone else) to a project the caller is not yet a member of.
            let project = other_project(app, fx).await;
            let invitee = fx.agents[attempt]
                .clone()
                .unwrap_or_else(|| insert_agent(&app.db, "invitee", false));
            let id = invite(app, &project, &invitee).await;
            if operation == "create_acceptance" {
                (
                    Method::POST,
                    format!("/v1/me/invitations/{id}/acceptance"),
                    Some(json!({})),
                )
            } else {
                (Method::DELETE, format!("/v1/me/invitations/{id}"), None)
            }
        }
        "update_member" | "remove_member" => {
            let (agent, _) = app.member(p, "contributor").await;
            if operation == "update_member" {
                (
                    Method::PATCH,
                    format!("/v1/projects/{p}/members/{agent}"),
                    Some(json!({"role": "auditor"})),
                )
            } else {
                (
                    Method::DELETE,
                    format!("/v1/projects/{p}/members/{agent}"),
                    None,
                )
            }
        }
        "create_account" => (
            Method::POST,
            format!("/v1/projects/{p}/accounts"),
            Some(json!({"name": format!("pool:attempt-{attempt}"), "currency": "EUR"})),
        ),
        "list_accounts" => (Method::GET, format!("/v1/projects/{p}/accounts"), None),
        "get_account" => (
            Method::GET,
            format!("/v1/projects/{p}/accounts/pool:general"),
            None,
        ),
        "list_balances" => (Method::GET, format!("/v1/projects/{p}/balances"), None),
        "create_transaction" => (
            Method::POST,
            format!("/v1/projects/{p}/transactions"),
            Some(transfer_body("funder:a", "pool:general", "1.00", "EUR")),
        ),
        "create_transaction_batch" => (
            Method::POST,
            format!("/v1/projects/{p}/transactions/batch"),
            Some(
                json!({"atomic": true, "transactions": [transfer_body("funder:a", "pool:general", "1.00", "EUR")]}),
            ),
        ),
        "list_transactions" => (Method::GET, format!("/v1/projects/{p}/transactions"), None),
        "get_transaction" | "create_reversal" => {
            let created = json_of(
                app.transfer(p, "funder:a", "pool:general", "1.00", "EUR")
                    .await,
            )
            .await;
            let id = created["id"].as_str().expect("id");
            if operation == "get_transaction" {
                (
                    Method::GET,
                    format!("/v1/projects/{p}/transactions/{id}"),
                    None,
                )
            } else {
                (
                    Method::POST,
                    format!("/v1/projects/{p}/transactions/{id}/reversal"),
                    Some(json!({})),
                )
            }
        }
        "create_rate" => (
            Method::POST,
            format!("/v1/projects/{p}/rates"),
            Some(
                json!({"kind": "time", "effective_from": format!("2025-01-{:02}", attempt + 1), "rate": "20.00",
                        "currency": "EUR", "per": "hour", "method": "replacement_cost", "source": "test"}),
            ),
        ),
        "list_rates" => (Method::GET, format!("/v1/projects/{p}/rates"), None),
        "create_contribution" => (
            Method::POST,
            format!("/v1/projects/{p}/contributions"),
            Some(time_contribution()),
        ),
        "list_contributions" => (Method::GET, format!("/v1/projects/{p}/contributions"), None),
        "list_contributors" => (Method::GET, format!("/v1/projects/{p}/contributors"), None),
        "get_contribution" | "create_review" | "create_in_kind_allocation" => {
            let response = app
                .send_as(
                    Some(&fx.subject_token),
                    Method::POST,
                    &format!("/v1/projects/{p}/contributions"),
                    Some(&time_contribution()),
                )
                .await;
            assert_eq!(response.status(), 201);
            let id = json_of(response).await["id"]
                .as_str()
                .expect("id")
                .to_owned();
            if operation == "get_contribution" {
                (
                    Method::GET,
                    format!("/v1/projects/{p}/contributions/{id}"),
                    None,
                )
            } else if operation == "create_in_kind_allocation" {
                (
                    Method::POST,
                    format!("/v1/projects/{p}/grants/{}/in-kind", fx.grant),
                    Some(json!({"contribution": id})),
                )
            } else {
                (
                    Method::POST,
                    format!("/v1/projects/{p}/contributions/{id}/reviews"),
                    Some(json!({"decision": "approve"})),
                )
            }
        }
        "get_member_value_account" => (
            Method::GET,
            format!("/v1/projects/{p}/members/{}/value-account", fx.subject),
            None,
        ),
        "get_my_value_account" => (Method::GET, "/v1/me/value-account".into(), None),
        "create_grant" => (
            Method::POST,
            format!("/v1/projects/{p}/grants"),
            Some(
                json!({"funder": fx.subject, "kind": "donation", "reference": format!("D-{attempt}-{}", uuid::Uuid::now_v7().simple()),
                        "amount": "10.00", "currency": "EUR", "received_on": "2026-02-01"}),
            ),
        ),
        "list_grants" => (Method::GET, format!("/v1/projects/{p}/grants"), None),
        "create_release" => (
            Method::POST,
            format!("/v1/projects/{p}/grants/{}/releases", fx.restricted),
            Some(json!({"amount": "0.01", "date": "2026-06-30", "reason": "the funder's consent"})),
        ),
        "list_in_kind_allocations" => (
            Method::GET,
            format!("/v1/projects/{p}/grants/{}/in-kind", fx.grant),
            None,
        ),
        "list_releases" => (
            Method::GET,
            format!("/v1/projects/{p}/grants/{}/releases", fx.restricted),
            None,
        ),
        "get_grant" => (
            Method::GET,
            format!("/v1/projects/{p}/grants/{}", fx.grant),
            None,
        ),
        "create_expense_category" => (
            Method::POST,
            format!("/v1/projects/{p}/expense-categories"),
            Some(
                json!({"name": format!("category-{attempt}-{}", uuid::Uuid::now_v7().simple()), "funder_category": "D other"}),
            ),
        ),
        "list_expense_categories" => (
            Method::GET,
            format!("/v1/projects/{p}/expense-categories"),
            None,
        ),
        "create_expense" => (
            Method::POST,
            format!("/v1/projects/{p}/expenses"),
            Some(
                json!({"amount": "1.00", "currency": "EUR", "category": "parts", "supplier": "Capteurs & Cie", "date": "2026-03-15"}),
            ),
        ),
        "list_expenses" => (Method::GET, format!("/v1/projects/{p}/expenses"), None),
        "create_payout" => (
            Method::POST,
            format!("/v1/projects/{p}/payouts"),
            Some(
                json!({"agent": fx.subject, "amount": "0.01", "currency": "EUR", "method": "bank-transfer", "reference": "test", "date": "2026-04-30"}),
            ),
        ),
        "list_payouts" => (Method::GET, format!("/v1/projects/{p}/payouts"), None),
        // Each attempt closes a later day, long before anything the
        // fixture dates.
        "create_closing" => (
            Method::POST,
            format!("/v1/projects/{p}/closings"),
            Some(json!({"through": format!("2000-01-{:02}", attempt + 1), "note": "test"})),
        ),
        "list_closings" => (Method::GET, format!("/v1/projects/{p}/closings"), None),
        "list_events" => (Method::GET, format!("/v1/projects/{p}/events"), None),
        "approve_payout" | "reject_payout" => {
            // A treasurer's payout to themselves waits; they are owed 0.01.
            let (recorder, token) = app.member(p, "treasurer").await;
            let owed = format!("contributor:{recorder}");
            app.create_account(p, &owed, "EUR", true).await;
            assert_eq!(
                app.transfer(p, "funder:a", &owed, "0.01", "EUR")
                    .await
                    .status(),
                201
            );
            let pending = json_of(
                app.send_as(
                    Some(&token),
                    Method::POST,
                    &format!("/v1/projects/{p}/payouts"),
                    Some(&json!({"agent": recorder, "amount": "0.01", "currency": "EUR", "method": "bank-transfer", "reference": "own", "date": "2026-04-30"})),
                )
                .await,
            )
            .await;
            assert_eq!(pending["status"], "pending", "{pending}");
            let id = pending["id"].as_str().expect("payout id");
            if operation == "approve_payout" {
                (
                    Method::POST,
                    format!("/v1/projects/{p}/payouts/{id}/approvals"),
                    Some(json!({})),
                )
            } else {
                (
                    Method::POST,
                    format!("/v1/projects/{p}/payouts/{id}/rejections"),
                    Some(json!({"reason": "not agreed"})),
                )
            }
        }
        "approve_release" | "reject_release" => {
            // Every release waits for a second person; another treasurer
            // asks for this one.
            let (_, token) = app.member(p, "treasurer").await;
            let pending = json_of(
                app.send_as(
                    Some(&token),
                    Method::POST,
                    &format!("/v1/projects/{p}/grants/{}/releases", fx.restricted),
                    Some(&json!({"amount": "0.01", "date": "2026-06-30", "reason": "the funder's consent"})),
                )
                .await,
            )
            .await;
            assert_eq!(pending["status"], "pending", "{pending}");
            let id = pending["id"].as_str().expect("release id");
            let base = format!("/v1/projects/{p}/grants/{}/releases/{id}", fx.restricted);
            if operation == "approve_release" {
                (Method::POST, format!("{base}/approvals"), Some(json!({})))
            } else {
                (
                    Method::POST,
                    format!("{base}/rejections"),
                    Some(json!({"reason": "no consent"})),
                )
            }
        }
        "approve_expense" | "reject_expense" => {
            // Above the project's four-eyes threshold an expense waits.
            let (_, owner) = app.member(p, "owner").await;
            let set = app
                .send_as(
                    Some(&owner),
                    Method::PATCH,
                    &format!("/v1/projects/{p}"),
                    Some(&json!({"four_eyes_above": "0.50"})),
                )
                .await;
            assert_eq!(set.status(), 200);
            let pending = json_of(
                app.send_as(
                    Some(&owner),
                    Method::POST,
                    &format!("/v1/projects/{p}/expenses"),
                    Some(&json!({"amount": "1.00", "currency": "EUR", "category": "parts", "supplier": "Capteurs & Cie", "date": "2026-03-15"})),
                )
                .await,
            )
            .await;
            assert_eq!(pending["status"], "pending", "{pending}");
            let id = pending["id"].as_str().expect("expense id");
            let base = format!("/v1/projects/{p}/expenses/{id}");
            if operation == "approve_expense" {
                (Method::POST, format!("{base}/approvals"), Some(json!({})))
            } else {
                (
                    Method::POST,
                    format!("{base}/rejections"),
                    Some(json!({"reason": "no receipt"})),
                )
            }
        }
        "create_exchange" => (
            Method::POST,
            format!("/v1/projects/{p}/exchanges"),
            Some(
                json!({"sell": {"amount": "1.00", "currency": "EUR"}, "buy": {"amount": "1.10", "currency": "USD"},
                        "date": "2026-04-02", "source": "bank statement"}),
            ),
        ),
        "create_rule_set" => (
            Method::POST,
            format!("/v1/projects/{p}/rule-sets"),
            Some(rule_set()),
        ),
        "list_rule_sets" => (Method::GET, format!("/v1/projects/{p}/rule-sets"), None),
        "get_rule_set" => (Method::GET, format!("/v1/projects/{p}/rule-sets/1"), None),
        "create_distribution" => (
            Method::POST,
            format!("/v1/projects/{p}/distributions"),
            Some(draft()),
        ),
        "list_distributions" => (Method::GET, format!("/v1/projects/{p}/distributions"), None),
        "get_distribution"
        | "create_approval"
        | "create_execution"
        | "create_cancellation"
        | "export_distribution_csv" => {
            // Drafted by a fresh treasurer: four eyes, no caller is its author.
            let (_, author) = app.member(p, "treasurer").await;
            let run = json_of(
                app.send_as(
                    Some(&author),
                    Method::POST,
                    &format!("/v1/projects/{p}/distributions"),
                    Some(&draft()),
                )
                .await,
            )
            .await;
            let id = run["id"].as_str().expect("run id").to_owned();
            if operation == "create_execution" {
                let approved = app
                    .post(
                        &format!("/v1/projects/{p}/distributions/{id}/approvals"),
                        &json!({}),
                    )
                    .await;
                assert_eq!(approved.status(), 201);
            }
            match operation {
                "get_distribution" => (
                    Method::GET,
                    format!("/v1/projects/{p}/distributions/{id}"),
                    None,
                ),
                "export_distribution_csv" => (
                    Method::GET,
                    format!("/v1/projects/{p}/reports/distributions/{id}.csv"),
                    None,
                ),
                "create_approval" => (
                    Method::POST,
                    format!("/v1/projects/{p}/distributions/{id}/approvals"),
                    Some(json!({})),
                ),
                "create_execution" => (
                    Method::POST,
                    format!("/v1/projects/{p}/distributions/{id}/execution"),
                    Some(json!({})),
                ),
                _ => (
                    Method::POST,
                    format!("/v1/projects/{p}/distributions/{id}/cancellation"),
                    Some(json!({})),
                ),
            }
        }
        "export_journal_csv" => (
            Method::GET,
            format!("/v1/projects/{p}/reports/journal.csv"),
            None,
        ),
        "export_journal_hledger" => (
            Method::GET,
            format!("/v1/projects/{p}/reports/journal.hledger"),
            None,
        ),
        "get_ledger_verification" => (
            Method::GET,
            format!("/v1/projects/{p}/ledger/verification"),
            None,
        ),
        "export_contributions_csv" => (
            Method::GET,
            format!("/v1/projects/{p}/reports/contributions.csv"),
            None,
        ),
        "export_grant_csv" => (
            Method::GET,
            format!("/v1/projects/{p}/reports/grants/{}.csv", fx.grant),
            None,
        ),
        "export_report_bundle" => (
            Method::GET,
            format!("/v1/projects/{p}/reports/bundle?grant={}", fx.grant),
            None,
        ),
        "export_statement_csv" => (
            Method::GET,
            format!("/v1/projects/{p}/reports/statements/{}.csv", fx.subject),
            None,
        ),
        // A CSV body, sent as text/csv below; a new row each time.
        "create_contribution_import" => (
            Method::POST,
            format!("/v1/projects/{p}/contributions/imports"),
            Some(Value::String(format!(
                "kind,date,quantity,unit,description\ntime,2026-03-02,1.5,hour,import {attempt}\n"
            ))),
        ),
        "create_claim" => (
            Method::POST,
            format!("/v1/projects/{p}/claims"),
            Some(claim()),
        ),
        "list_claims" => (Method::GET, format!("/v1/projects/{p}/claims"), None),
        "get_claim" | "approve_claim" | "reject_claim" => {
            // The subject's claim: no caller is its claimant.
            let response = app
                .send_as(
                    Some(&fx.subject_token),
                    Method::POST,
                    &format!("/v1/projects/{p}/claims"),
                    Some(&claim()),
                )
                .await;
            assert_eq!(response.status(), 201);
            let id = json_of(response).await["id"]
                .as_str()
                .expect("claim id")
                .to_owned();
            match operation {
                "get_claim" => (Method::GET, format!("/v1/projects/{p}/claims/{id}"), None),
                "approve_claim" => (
                    Method::POST,
                    format!("/v1/projects/{p}/claims/{id}/approvals"),
                    Some(json!({})),
                ),
                _ => (
                    Method::POST,
                    format!("/v1/projects/{p}/claims/{id}/rejections"),
                    Some(json!({"reason": "no receipt"})),
                ),
            }
        }
        other => panic!("operation `{other}` has no request in this table: add one"),
    }
}

/// Invites `agent` into `project` as a contributor (as the administrator).
async fn invite(app: &TestApp, project: &str, agent: &str) -> String {
    let response = app
        .post(
            &format!("/v1/projects/{project}/invitations"),
            &json!({"agent": agent, "role": "contributor"}),
        )
        .await;
    assert_eq!(response.status(), 201, "inviting {agent}");
    json_of(response).await["id"]
        .as_str()
        .expect("invitation id")
        .to_owned()
}

/// A new project that none of the callers is a member of (its owner is the
/// fixture's subject, not the administrator).
async fn other_project(app: &TestApp, fx: &Fixture) -> String {
    let response = app
        .send_as(
            Some(&fx.subject_token),
            Method::POST,
            "/v1/projects",
            Some(&json!({"name": "Fablab", "currency": "EUR"})),
        )
        .await;
    assert_eq!(response.status(), 201);
    json_of(response).await["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

fn rule_set() -> Value {
    json!({"steps": [
        {"share": {"type": "percentage", "percent": "10", "of": "total"}, "to": {"type": "account", "account": "reserve"}},
        {"share": {"type": "percentage", "percent": "100", "of": "remaining"},
         "to": {"type": "pro_rata", "weights": {"time": "1"}, "cap": {"type": "percentage", "percent": "40"}}}
    ], "residue": {"type": "pool"}})
}

fn draft() -> Value {
    json!({"rule_set_version": 1, "amount": "1.00", "period_from": "2026-03-01", "period_to": "2026-03-31"})
}

fn claim() -> Value {
    json!({"amount": "0.01", "currency": "EUR", "category": "parts", "date": "2026-03-14",
           "description": "solder"})
}

fn time_contribution() -> Value {
    json!({"kind": "time", "date": "2026-03-02", "quantity": "2.5", "unit": "hour", "description": "calibration"})
}

async fn fixture(app: &TestApp) -> Fixture {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    let rate = json!({"kind": "time", "effective_from": "2026-01-01", "rate": "25.00", "currency": "EUR",
                      "per": "hour", "method": "replacement_cost", "source": "test"});
    assert_eq!(
        app.post(&format!("/v1/projects/{project}/rates"), &rate)
            .await
            .status(),
        201
    );
    let (subject, subject_token) = app.member(&project, "contributor").await;
    let grant = json_of(
        app.post(
            &format!("/v1/projects/{project}/grants"),
            &json!({"funder": subject, "kind": "donation", "reference": "D-fixture",
                    "amount": "1000.00", "currency": "EUR", "received_on": "2026-02-01"}),
        )
        .await,
    )
    .await["id"]
        .as_str()
        .expect("grant")
        .to_owned();
    let restricted = json_of(
        app.post(
            &format!("/v1/projects/{project}/grants"),
            &json!({"funder": subject, "kind": "grant", "reference": "R-fixture", "restriction": "sensors",
                    "amount": "1000.00", "currency": "EUR", "received_on": "2026-02-01"}),
        )
        .await,
    )
    .await["id"]
        .as_str()
        .expect("restricted grant")
        .to_owned();
    let category = app
        .post(
            &format!("/v1/projects/{project}/expense-categories"),
            &json!({"name": "parts", "funder_category": "C purchases"}),
        )
        .await;
    assert_eq!(category.status(), 201);
    app.create_account(&project, &format!("contributor:{subject}"), "EUR", true)
        .await;
    assert_eq!(
        app.transfer(
            &project,
            "funder:a",
            &format!("contributor:{subject}"),
            "10.00",
            "EUR"
        )
        .await
        .status(),
        201
    );
    app.create_account(&project, "reserve", "EUR", true).await;
    assert_eq!(
        app.post(&format!("/v1/projects/{project}/rule-sets"), &rule_set())
            .await
            .status(),
        201
    );
    let other = app.create_project("EUR").await;
    let (outsider_id, outsider) = app.member(&other, "contributor").await;
    let mut tokens = vec![None, Some(outsider)];
    let mut agents = vec![None, Some(outsider_id)];
    for role in ["contributor", "auditor", "treasurer", "owner"] {
        let (id, token) = app.member(&project, role).await;
        tokens.push(Some(token));
        agents.push(Some(id));
    }
    tokens.push(Some(app.token_for(&app.admin_id)));
    agents.push(Some(app.admin_id.clone()));
    Fixture {
        project,
        tokens,
        agents,
        subject,
        subject_token,
        grant,
        restricted,
    }
}

async fn every_operation_has_an_authorization_decision(app: &TestApp) {
    let fx = fixture(app).await;
    let spec = json_of(app.get("/openapi.json").await).await;
    let mut operations = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            operations.push((
                path.clone(),
                method.to_uppercase(),
                operation["operationId"].as_str().expect("id").to_owned(),
            ));
        }
    }
    assert!(operations.len() >= 20, "the walk covers the whole API");
    let (mut checked, mut located_201s) = (0, 0);
    for (path, method, operation) in &operations {
        let statuses = expected(operation);
        for (attempt, (caller, token)) in CALLERS.iter().zip(&fx.tokens).enumerate() {
            // Signing out revokes the token sent: a fresh one, not the
            // caller's, which the rest of the walk needs.
            let fresh = (operation == "revoke_token").then(|| {
                fx.agents[attempt]
                    .as_deref()
                    .map(|agent| app.token_for(agent))
            });
            let token = fresh.as_ref().unwrap_or(token);
            let (request_method, request_path, body) =
                request_for(app, &fx, operation, attempt).await;
            assert_eq!(
                request_method.as_str(),
                method,
                "{operation}: the request matches the spec's method"
            );
            let template = path.split('{').next().unwrap_or_default();
            assert!(
                request_path.starts_with(template),
                "{operation}: {request_path} is under {path}"
            );
            let response = match &body {
                Some(Value::String(csv)) => {
                    let mut request = app
                        .anonymous
                        .request(request_method, app.url(&request_path))
                        .header("Content-Type", "text/csv")
                        .body(csv.clone());
                    if let Some(token) = token {
                        request = request.bearer_auth(token);
                    }
                    request.send().await.expect("request")
                }
                _ => {
                    app.send_as(
                        token.as_deref(),
                        request_method,
                        &request_path,
                        body.as_ref(),
                    )
                    .await
                }
            };
            let status = response.status().as_u16();
            let want = statuses[attempt];
            let location = response
                .headers()
                .get("Location")
                .map(|value| value.to_str().expect("an ASCII Location").to_owned());
            let text = response.text().await.unwrap_or_default();
            assert_eq!(status, want, "{operation} as {caller}: {text}");
            if let (true, Ok(answer)) = (
                (200..300).contains(&status),
                serde_json::from_str::<Value>(&text),
            ) {
                let declared =
                    &spec["paths"][path][method.to_lowercase()]["responses"][status.to_string()];
                let schema = &declared["content"]["application/json"]["schema"];
                crate::openapi::assert_sent_as_declared(
                    &spec,
                    schema,
                    &answer,
                    &format!("{operation} as {caller}"),
                );
            }
            if status == 201 {
                let location =
                    location.unwrap_or_else(|| panic!("{operation}: a 201 names its Location"));
                located(app, token.as_deref(), operation, &location, &text).await;
                located_201s += 1;
            }
            if status >= 400 {
                let problem: Value = serde_json::from_str(&text).expect("problem JSON");
                assert_eq!(
                    problem["status"], status,
                    "{operation} as {caller}: problem document"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, operations.len() * CALLERS.len());
    assert!(
        located_201s >= 30,
        "the walk follows the Location of every 201"
    );
}

/// What a 201's `Location` answers to the caller who made it: the resource
/// made (the same id, version or name), or the list that holds it (a page
/// of it holds an item with that key).
async fn located(app: &TestApp, token: Option<&str>, operation: &str, location: &str, made: &str) {
    assert!(
        location.starts_with("/v1/"),
        "{operation}: Location {location} is a path of the API"
    );
    let made: Value = serde_json::from_str(made).expect("JSON");
    // What names it: its own key, or (an import) the first contribution it recorded.
    let (key, value) = ["id", "version", "agent", "contribution", "name"]
        .into_iter()
        .find_map(|key| made.get(key).map(|value| (key, value.clone())))
        .or_else(|| made["contributions"].get(0).map(|id| ("id", id.clone())))
        .unwrap_or_else(|| panic!("{operation}: what it made has a key"));
    let mut page = location.to_owned();
    loop {
        let response = app.send_as(token, Method::GET, &page, None).await;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(status, 200, "{operation}: GET {page}: {text}");
        let found: Value = serde_json::from_str(&text).expect("JSON");
        let Some(items) = found["items"].as_array() else {
            assert_eq!(
                found[key], value,
                "{operation}: GET {location} answers what it made"
            );
            return;
        };
        if items.iter().any(|item| item[key] == value) {
            return;
        }
        let cursor = found["next_cursor"]
            .as_str()
            .unwrap_or_else(|| panic!("{operation}: the list at {location} holds {key} {value}"));
        page = format!("{location}?cursor={cursor}");
    }
}

async fn public_projects_are_readable_by_anyone(app: &TestApp) {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "funder:a", "EUR", false).await;
    app.create_account(&project, "pool:general", "EUR", true)
        .await;
    let other = app.create_project("EUR").await;
    let (_, outsider) = app.member(&other, "contributor").await;
    let private_reads = app
        .send_as(
            None,
            Method::GET,
            &format!("/v1/projects/{project}/balances"),
            None,
        )
        .await;
    assert_eq!(private_reads.status(), 404, "private until made public");

    let response = app
        .send_as(
            app.member(&project, "owner").await.1.as_str().into(),
            Method::PATCH,
            &format!("/v1/projects/{project}"),
            Some(&json!({"public": true})),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_of(response).await["public"], true);

    for caller in [None, Some(outsider.as_str())] {
        for path in ["", "/accounts", "/balances", "/transactions"] {
            let response = app
                .send_as(
                    caller,
                    Method::GET,
                    &format!("/v1/projects/{project}{path}"),
                    None,
                )
                .await;
            assert_eq!(
                response.status(),
                200,
                "{path} of a public project is readable by {caller:?}"
            );
        }
        let listed = json_of(app.send_as(caller, Method::GET, "/v1/projects", None).await).await;
        assert!(
            listed["items"]
                .as_array()
                .expect("items")
                .iter()
                .any(|p| p["id"] == project.as_str()),
            "listed"
        );
    }
    let write = Some(&transfer_body("funder:a", "pool:general", "1.00", "EUR"));
    let path = format!("/v1/projects/{project}/transactions");
    assert_eq!(
        app.send_as(None, Method::POST, &path, write).await.status(),
        401,
        "writes still need a token"
    );
    assert_eq!(
        app.send_as(Some(&outsider), Method::POST, &path, write)
            .await
            .status(),
        403,
        "and a role"
    );
    let members = app
        .send_as(
            Some(&outsider),
            Method::GET,
            &format!("/v1/projects/{project}/members"),
            None,
        )
        .await;
    assert_eq!(members.status(), 403, "members are shown to members only");
    let hidden = json_of(app.send_as(None, Method::GET, "/v1/projects", None).await).await;
    assert!(
        !hidden["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|p| p["id"] == other.as_str()),
        "private projects are not listed"
    );
}
