//! PRODUCT.md step 1, with a token for each person: an owner creates
//! OpenAir Lyon (EUR), invites a treasurer, three contributors and the
//! funder Fondation Horizon as auditor; each signs in, accepts and sees
//! their role.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of};
use crate::on_both_backends;

on_both_backends!(step_one_with_a_token_for_each_person);

async fn signed_in(app: &TestApp, email: &str, password: &str) -> String {
    let response = app
        .send_as(
            None,
            Method::POST,
            "/v1/auth/token",
            Some(&json!({"email": email, "password": password})),
        )
        .await;
    assert_eq!(response.status(), 200, "{email} signs in");
    json_of(response).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned()
}

/// The administrator records a person or organisation who can sign in.
async fn with_login(app: &TestApp, kind: &str, name: &str, email: &str) -> (String, String) {
    let password = format!("{name} has a long passphrase");
    let agent = json_of(
        app.post(
            "/v1/agents",
            &json!({"kind": kind, "name": name, "email": email, "password": password}),
        )
        .await,
    )
    .await;
    let id = agent["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{agent}"))
        .to_owned();
    (id, signed_in(app, email, &password).await)
}

async fn step_one_with_a_token_for_each_person(app: &TestApp) {
    let (_, owner) = with_login(app, "person", "Odile", "odile@openair-lyon.org").await;
    let response = app
        .send_as(
            Some(&owner),
            Method::POST,
            "/v1/projects",
            Some(&json!({"name": "OpenAir Lyon", "currency": "EUR"})),
        )
        .await;
    assert_eq!(response.status(), 201);
    let project = json_of(response).await["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let mut people = vec![(
        "treasurer",
        with_login(app, "person", "Théo", "theo@openair-lyon.org").await,
    )];
    for (name, email) in [
        ("Camille", "camille@openair-lyon.org"),
        ("Inès", "ines@openair-lyon.org"),
        ("Malo", "malo@openair-lyon.org"),
    ] {
        people.push(("contributor", with_login(app, "person", name, email).await));
    }
    people.push((
        "auditor",
        with_login(
            app,
            "organisation",
            "Fondation Horizon",
            "grants@fondation-horizon.org",
        )
        .await,
    ));
    for (role, (agent, token)) in &people {
        let response = app
            .send_as(
                Some(&owner),
                Method::POST,
                &format!("/v1/projects/{project}/invitations"),
                Some(&json!({"agent": agent, "role": role})),
            )
            .await;
        assert_eq!(response.status(), 201, "the owner invites the {role}");
        let hidden = app
            .send_as(
                Some(token),
                Method::GET,
                &format!("/v1/projects/{project}"),
                None,
            )
            .await;
        assert_eq!(
            hidden.status(),
            404,
            "the {role} is not a member before accepting"
        );
        let mine: Value = json_of(
            app.send_as(Some(token), Method::GET, "/v1/me/invitations", None)
                .await,
        )
        .await;
        let invitation = &mine["items"][0];
        assert_eq!(invitation["project_name"], "OpenAir Lyon");
        assert_eq!(invitation["role"], *role);
        let id = invitation["id"].as_str().expect("invitation id");
        let accepted = app
            .send_as(
                Some(token),
                Method::POST,
                &format!("/v1/me/invitations/{id}/acceptance"),
                Some(&json!({})),
            )
            .await;
        assert_eq!(accepted.status(), 201, "the {role} accepts");
        assert_eq!(json_of(accepted).await["role"], *role);
    }

    for (role, (agent, token)) in &people {
        let me: Value = json_of(app.send_as(Some(token), Method::GET, "/v1/me", None).await).await;
        assert_eq!(me["agent"]["id"], agent.as_str());
        assert_eq!(me["memberships"][0]["project_name"], "OpenAir Lyon");
        assert_eq!(me["memberships"][0]["role"], *role);
        let project_read = app
            .send_as(
                Some(token),
                Method::GET,
                &format!("/v1/projects/{project}/balances"),
                None,
            )
            .await;
        assert_eq!(project_read.status(), 200, "the {role} reads the books");
        let account = json!({"name": format!("pool:{role}-{}", &agent[agent.len() - 6..]), "currency": "EUR"});
        let write = app
            .send_as(
                Some(token),
                Method::POST,
                &format!("/v1/projects/{project}/accounts"),
                Some(&account),
            )
            .await;
        let expected = if *role == "treasurer" { 201 } else { 403 };
        assert_eq!(
            write.status(),
            expected,
            "only the treasurer records money accounts, not the {role}"
        );
    }
    let members = json_of(
        app.send_as(
            Some(&owner),
            Method::GET,
            &format!("/v1/projects/{project}/members"),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        members["items"].as_array().expect("items").len(),
        6,
        "owner, treasurer, three contributors, the funder"
    );
}
