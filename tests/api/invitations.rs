//! Membership needs the member's consent, and losing a membership loses
//! that project only: a stranger who creates a project cannot add anyone to
//! it, nor log anyone out by removing or demoting them.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_problem, insert_agent, json_of, spawn_app_with};
use crate::on_both_backends;

on_both_backends!(
    a_stranger_changes_nothing_about_the_administrators_access,
    losing_a_membership_loses_that_project_only,
    invitations_wait_for_the_invitees_consent,
);

/// A person with a token who creates a project of their own.
async fn stranger_with_a_project(app: &TestApp) -> (String, String, String) {
    let stranger = insert_agent(&app.db, "Mallory", false);
    let token = app.token_for(&stranger);
    let created = app
        .send_as(
            Some(&token),
            Method::POST,
            "/v1/projects",
            Some(&json!({"name": "Throwaway", "currency": "EUR"})),
        )
        .await;
    assert_eq!(created.status(), 201, "anyone signed in creates a project");
    let project = json_of(created).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    (stranger, token, project)
}

async fn invite(app: &TestApp, token: &str, project: &str, agent: &str, role: &str) -> Value {
    let response = app
        .send_as(
            Some(token),
            Method::POST,
            &format!("/v1/projects/{project}/invitations"),
            Some(&json!({"agent": agent, "role": role})),
        )
        .await;
    assert_eq!(response.status(), 201, "inviting {agent} as {role}");
    json_of(response).await
}

async fn accept(app: &TestApp, token: &str, invitation: &Value) -> reqwest::Response {
    let id = invitation["id"].as_str().expect("invitation id");
    app.send_as(
        Some(token),
        Method::POST,
        &format!("/v1/me/invitations/{id}/acceptance"),
        Some(&json!({})),
    )
    .await
}

/// Status of `method path` as `token`.
async fn status(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> u16 {
    app.send_as(Some(token), method, path, body)
        .await
        .status()
        .as_u16()
}

/// The administrator's access, checked with the same token throughout: who
/// they are, their own project (read and write) and the instance's other
/// projects.
async fn admin_access_is_intact(app: &TestApp, admin: &str, own: &str, other: &str, when: &str) {
    assert_eq!(
        status(app, admin, Method::GET, "/v1/me", None).await,
        200,
        "{when}: /v1/me"
    );
    assert_eq!(
        status(
            app,
            admin,
            Method::GET,
            &format!("/v1/projects/{own}/balances"),
            None
        )
        .await,
        200,
        "{when}: the administrator's own project"
    );
    let account =
        json!({"name": format!("pool:{}", uuid::Uuid::now_v7().simple()), "currency": "EUR"});
    assert_eq!(
        status(
            app,
            admin,
            Method::POST,
            &format!("/v1/projects/{own}/accounts"),
            Some(&account)
        )
        .await,
        201,
        "{when}: the administrator still writes to their own project"
    );
    let me = json_of(app.send_as(Some(admin), Method::GET, "/v1/me", None).await).await;
    assert!(
        me["memberships"]
            .as_array()
            .expect("memberships")
            .iter()
            .any(|m| m["project_id"] == own && m["role"] == "owner"),
        "{when}: still the owner of their own project: {me}"
    );
    assert_eq!(
        status(
            app,
            admin,
            Method::GET,
            &format!("/v1/projects/{other}"),
            None
        )
        .await,
        200,
        "{when}: administrators reach every project"
    );
}

async fn a_stranger_changes_nothing_about_the_administrators_access(app: &TestApp) {
    let admin = app.token_for(&app.admin_id);
    let own = app.create_project("EUR").await;
    let (_, stranger, throwaway) = stranger_with_a_project(app).await;
    admin_access_is_intact(app, &admin, &own, &throwaway, "before").await;

    let members = format!("/v1/projects/{throwaway}/members");
    assert_problem(
        app.send_as(
            Some(&stranger),
            Method::POST,
            &members,
            Some(&json!({"agent": app.admin_id, "role": "contributor"})),
        )
        .await,
        403,
        "admin_only",
        "an owner cannot add anyone without their consent",
    )
    .await;
    let admin_member = format!("{members}/{}", app.admin_id);
    assert_problem(
        app.send_as(Some(&stranger), Method::DELETE, &admin_member, None)
            .await,
        404,
        "member_not_found",
        "the administrator is no member of the stranger's project",
    )
    .await;
    let invitation = invite(app, &stranger, &throwaway, &app.admin_id, "owner").await;
    admin_access_is_intact(app, &admin, &own, &throwaway, "invited").await;
    assert_problem(
        app.send_as(Some(&stranger), Method::DELETE, &admin_member, None)
            .await,
        404,
        "member_not_found",
        "an invitation is not a membership",
    )
    .await;

    // Even if the administrator accepts, demotion and removal touch that
    // project only.
    assert_eq!(accept(app, &admin, &invitation).await.status(), 201);
    assert_eq!(
        status(
            app,
            &stranger,
            Method::PATCH,
            &admin_member,
            Some(&json!({"role": "auditor"}))
        )
        .await,
        200,
        "the stranger, also an owner, demotes the administrator"
    );
    admin_access_is_intact(app, &admin, &own, &throwaway, "demoted").await;
    assert_eq!(
        status(app, &stranger, Method::DELETE, &admin_member, None).await,
        204
    );
    admin_access_is_intact(app, &admin, &own, &throwaway, "removed").await;
    for round in 0..3 {
        let again = invite(app, &stranger, &throwaway, &app.admin_id, "contributor").await;
        assert_eq!(
            status(
                app,
                &stranger,
                Method::DELETE,
                &format!(
                    "/v1/projects/{throwaway}/invitations/{}",
                    again["id"].as_str().expect("id")
                ),
                None
            )
            .await,
            204
        );
        admin_access_is_intact(app, &admin, &own, &throwaway, &format!("round {round}")).await;
    }
}

async fn losing_a_membership_loses_that_project_only(app: &TestApp) {
    // Camille treasures project A (added by an administrator).
    let home = app.create_project("EUR").await;
    let (camille, token) = app.member(&home, "treasurer").await;
    let (_, stranger, throwaway) = stranger_with_a_project(app).await;
    let invitation = invite(app, &stranger, &throwaway, &camille, "treasurer").await;
    assert_eq!(accept(app, &token, &invitation).await.status(), 201);
    let in_throwaway = format!("/v1/projects/{throwaway}/balances");
    assert_eq!(
        status(app, &token, Method::GET, &in_throwaway, None).await,
        200
    );

    let member = format!("/v1/projects/{throwaway}/members/{camille}");
    assert_eq!(
        status(
            app,
            &stranger,
            Method::PATCH,
            &member,
            Some(&json!({"role": "auditor"}))
        )
        .await,
        200
    );
    let account = json!({"name": "pool:camille", "currency": "EUR"});
    assert_eq!(
        status(
            app,
            &token,
            Method::POST,
            &format!("/v1/projects/{throwaway}/accounts"),
            Some(&account)
        )
        .await,
        403,
        "the lowered role applies at the next request, with the same token"
    );
    assert_eq!(
        status(
            app,
            &token,
            Method::POST,
            &format!("/v1/projects/{home}/accounts"),
            Some(&account)
        )
        .await,
        201,
        "and the treasurer's rights in their own project are untouched"
    );
    assert_eq!(
        status(app, &stranger, Method::DELETE, &member, None).await,
        204
    );
    assert_eq!(
        status(app, &token, Method::GET, &in_throwaway, None).await,
        404,
        "removed: the project is gone for them at once"
    );
    assert_eq!(
        status(
            app,
            &token,
            Method::GET,
            &format!("/v1/projects/{home}/balances"),
            None
        )
        .await,
        200
    );
    let me = json_of(app.send_as(Some(&token), Method::GET, "/v1/me", None).await).await;
    let memberships: Vec<(&str, &str)> = me["memberships"]
        .as_array()
        .expect("memberships")
        .iter()
        .map(|m| {
            (
                m["project_id"].as_str().expect("id"),
                m["role"].as_str().expect("role"),
            )
        })
        .collect();
    assert_eq!(memberships, [(home.as_str(), "treasurer")]);
}

async fn invitations_wait_for_the_invitees_consent(app: &TestApp) {
    let (owner, owner_token, project) = stranger_with_a_project(app).await;
    let ines = insert_agent(&app.db, "Inès", false);
    let ines_token = app.token_for(&ines);
    let bruno = insert_agent(&app.db, "Bruno", false);
    let bruno_token = app.token_for(&bruno);
    let invitation = invite(app, &owner_token, &project, &ines, "contributor").await;
    assert_eq!(invitation["project_name"], "Throwaway");
    assert_eq!(
        invitation["agent_name"],
        serde_json::Value::Null,
        "inviting an id is no way to learn a name"
    );
    assert_eq!(invitation["invited_by"], owner.as_str());
    assert_eq!(invitation["invited_by_name"], "Mallory");
    assert_eq!(invitation["role"], "contributor");

    let conflicts = [
        (
            json!({"agent": ines, "role": "auditor"}),
            409,
            "invitation_exists",
            "one pending invitation per agent",
        ),
        (
            json!({"agent": owner, "role": "auditor"}),
            409,
            "member_exists",
            "members are not invited",
        ),
        (
            json!({"agent": "01900000-0000-7000-8000-000000000000", "role": "auditor"}),
            422,
            "unknown_agent",
            "an agent that does not exist",
        ),
        (
            json!({"agent": "a".repeat(37), "role": "auditor"}),
            422,
            "too_long",
            "no id is longer than a UUID",
        ),
    ];
    for (body, code_status, code, rule) in conflicts {
        assert_problem(
            app.send_as(
                Some(&owner_token),
                Method::POST,
                &format!("/v1/projects/{project}/invitations"),
                Some(&body),
            )
            .await,
            code_status,
            code,
            rule,
        )
        .await;
    }

    assert_eq!(
        status(
            app,
            &ines_token,
            Method::GET,
            &format!("/v1/projects/{project}"),
            None
        )
        .await,
        404,
        "invited is not a member: the project stays hidden"
    );
    let pending = json_of(
        app.send_as(
            Some(&owner_token),
            Method::GET,
            &format!("/v1/projects/{project}/invitations"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        pending["items"][0]["id"], invitation["id"],
        "members see who is invited"
    );
    let mine = json_of(
        app.send_as(Some(&ines_token), Method::GET, "/v1/me/invitations", None)
            .await,
    )
    .await;
    assert_eq!(mine["items"].as_array().expect("items").len(), 1);
    assert_eq!(
        mine["items"][0]["agent_name"], "Inès",
        "the invitee sees their name"
    );
    assert_eq!(
        pending["items"][0]["agent_name"],
        serde_json::Value::Null,
        "the project's list names no one who has not accepted"
    );
    let theirs = json_of(
        app.send_as(Some(&bruno_token), Method::GET, "/v1/me/invitations", None)
            .await,
    )
    .await;
    assert!(
        theirs["items"].as_array().expect("items").is_empty(),
        "nobody sees another's invitations"
    );
    let id = invitation["id"].as_str().expect("id");
    assert_problem(
        accept(app, &bruno_token, &invitation).await,
        404,
        "invitation_not_found",
        "nobody accepts another's invitation",
    )
    .await;
    assert_problem(
        app.send_as(
            Some(&bruno_token),
            Method::DELETE,
            &format!("/v1/me/invitations/{id}"),
            None,
        )
        .await,
        404,
        "invitation_not_found",
        "nor declines it",
    )
    .await;

    let accepted = accept(app, &ines_token, &invitation).await;
    assert_eq!(accepted.status(), 201);
    let member = json_of(accepted).await;
    assert_eq!(
        (&member["agent"], &member["role"]),
        (&json!(ines), &json!("contributor"))
    );
    assert_eq!(
        status(
            app,
            &ines_token,
            Method::GET,
            &format!("/v1/projects/{project}"),
            None
        )
        .await,
        200
    );
    assert_problem(
        accept(app, &ines_token, &invitation).await,
        404,
        "invitation_not_found",
        "an accepted invitation is used up",
    )
    .await;

    // Declining leaves everything as it was.
    let declined = invite(app, &owner_token, &project, &bruno, "treasurer").await;
    let id = declined["id"].as_str().expect("id");
    assert_eq!(
        status(
            app,
            &bruno_token,
            Method::DELETE,
            &format!("/v1/me/invitations/{id}"),
            None
        )
        .await,
        204
    );
    assert_eq!(
        status(
            app,
            &bruno_token,
            Method::GET,
            &format!("/v1/projects/{project}"),
            None
        )
        .await,
        404
    );
    let listed = json_of(
        app.send_as(
            Some(&owner_token),
            Method::GET,
            &format!("/v1/projects/{project}/members"),
            None,
        )
        .await,
    )
    .await;
    let agents: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| m["agent"].as_str().expect("agent"))
        .collect();
    assert!(
        agents.contains(&ines.as_str()) && !agents.contains(&bruno.as_str()),
        "{agents:?}"
    );

    // A contributor may not invite; an administrator may add directly.
    assert_problem(
        app.send_as(
            Some(&ines_token),
            Method::POST,
            &format!("/v1/projects/{project}/invitations"),
            Some(&json!({"agent": bruno, "role": "owner"})),
        )
        .await,
        403,
        "forbidden",
        "contributors do not invite",
    )
    .await;
    let direct = app
        .post(
            &format!("/v1/projects/{project}/members"),
            &json!({"agent": bruno, "role": "auditor"}),
        )
        .await;
    assert_eq!(direct.status(), 201, "administrators add members directly");
}

/// Who may create projects is the instance's choice.
async fn project_creation_follows_the_instance_setting(backend: Backend) {
    let keys = commons_ledger::auth::TokenKeys::new(
        crate::helpers::TEST_JWT_SECRET,
        "commons-ledger",
        "commons-ledger",
        3_600,
    )
    .expect("keys");
    let Some(app) = spawn_app_with(backend, keys, |settings| {
        settings.project_creation = commons_ledger::config::ProjectCreation::Administrators;
    })
    .await
    else {
        eprintln!(
            "skipped: {} is not set",
            crate::helpers::POSTGRES_URL_VARIABLE
        );
        return;
    };
    let person = insert_agent(&app.db, "Camille", false);
    let body = json!({"name": "Fablab", "currency": "EUR"});
    assert_problem(
        app.send_as(
            Some(&app.token_for(&person)),
            Method::POST,
            "/v1/projects",
            Some(&body),
        )
        .await,
        403,
        "admin_only",
        "only administrators create projects on this instance",
    )
    .await;
    assert_eq!(
        app.post("/v1/projects", &body).await.status(),
        201,
        "administrators do"
    );
}

mod project_creation_follows_the_instance_setting {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::project_creation_follows_the_instance_setting(crate::helpers::Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::project_creation_follows_the_instance_setting(crate::helpers::Backend::Postgres)
            .await;
    }
}
