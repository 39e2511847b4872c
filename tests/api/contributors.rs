//! `GET .../contributors` names a project's contributors as the project
//! allows its readers to see them (`contributor_names`: hidden by default,
//! initials, or names): the public never gets more than the owners chose,
//! and a private project's list is not found by strangers.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, insert_agent, json_of};
use crate::on_both_backends;

on_both_backends!(
    readers_see_contributors_as_the_project_allows,
    a_private_project_s_contributors_are_not_found,
    the_setting_is_checked_and_owners_alone_change_it,
    an_agent_id_is_no_way_to_a_hidden_name,
);

/// A contributor named `name` who has logged `count` contributions.
async fn contributor(app: &TestApp, project: &str, name: &str, count: usize) -> String {
    let id = insert_agent(&app.db, name, false);
    let added = app
        .post(
            &format!("/v1/projects/{project}/members"),
            &json!({"agent": id, "role": "contributor"}),
        )
        .await;
    assert_eq!(added.status(), 201);
    let token = app.token_for(&id);
    for day in 0..count {
        let logged = app
            .send_as(
                Some(&token),
                Method::POST,
                &format!("/v1/projects/{project}/contributions"),
                Some(
                    &json!({"kind": "time", "date": format!("2026-03-0{}", day + 1),
                    "quantity": "2", "unit": "hour", "description": "sensor calibration"}),
                ),
            )
            .await;
        assert_eq!(
            logged.status(),
            201,
            "{}",
            logged.text().await.unwrap_or_default()
        );
    }
    id
}

async fn set(app: &TestApp, project: &str, change: Value) -> Value {
    let response = app
        .client
        .patch(app.url(&format!("/v1/projects/{project}")))
        .json(&change)
        .send()
        .await
        .expect("patch");
    assert_eq!(response.status(), 200, "{change}");
    json_of(response).await
}

/// The list as an anonymous reader gets it: `(agent, name)` in order.
async fn as_public(app: &TestApp, project: &str, query: &str) -> (Vec<(String, Value)>, Value) {
    let response = app
        .send_as(
            None,
            Method::GET,
            &format!("/v1/projects/{project}/contributors{query}"),
            None,
        )
        .await;
    assert_eq!(response.status(), 200);
    let page = json_of(response).await;
    let items = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| {
            (
                c["agent"].as_str().expect("agent").to_owned(),
                c["name"].clone(),
            )
        })
        .collect();
    (items, page["next_cursor"].clone())
}

async fn readers_see_contributors_as_the_project_allows(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let created = set(
        app,
        &project,
        json!({"public": true, "allow_unvalued": true}),
    )
    .await;
    assert_eq!(created["contributor_names"], "hidden", "hidden by default");
    let camille = contributor(app, &project, "Camille Durand", 2).await;
    let malik = contributor(app, &project, "Malik Benali-Roux", 1).await;
    contributor(app, &project, "Never Logged", 0).await;
    let mut ids = vec![camille.clone(), malik.clone()];
    ids.sort();

    let (hidden, _) = as_public(app, &project, "").await;
    assert_eq!(
        hidden.iter().map(|(a, _)| a.clone()).collect::<Vec<_>>(),
        ids,
        "each contributor once, by id; a member who never contributed is not listed"
    );
    assert!(hidden.iter().all(|(_, name)| name.is_null()), "{hidden:?}");

    let changed = set(app, &project, json!({"contributor_names": "initials"})).await;
    assert_eq!(changed["contributor_names"], "initials");
    let (initials, _) = as_public(app, &project, "").await;
    let name_of = |list: &[(String, Value)], agent: &str| {
        list.iter()
            .find(|(a, _)| a == agent)
            .map(|(_, n)| n.clone())
    };
    assert_eq!(name_of(&initials, &camille), Some(json!("C. D.")));
    assert_eq!(name_of(&initials, &malik), Some(json!("M. B. R.")));

    set(app, &project, json!({"contributor_names": "names"})).await;
    let mut pages = Vec::new();
    let mut query = "?limit=1".to_owned();
    loop {
        let (page, cursor) = as_public(app, &project, &query).await;
        assert!(page.len() <= 1 && pages.len() <= ids.len(), "pages of one");
        pages.extend(page);
        match cursor.as_str() {
            Some(cursor) => query = format!("?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    let mut names: Vec<&str> = pages
        .iter()
        .map(|(_, n)| n.as_str().expect("a name"))
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["Camille Durand", "Malik Benali-Roux"],
        "page by page"
    );

    let project_read = json_of(
        app.send_as(None, Method::GET, &format!("/v1/projects/{project}"), None)
            .await,
    )
    .await;
    assert_eq!(project_read["contributor_names"], "names");
}

async fn a_private_project_s_contributors_are_not_found(app: &TestApp) {
    let project = app.create_project("EUR").await;
    set(
        app,
        &project,
        json!({"allow_unvalued": true, "contributor_names": "names"}),
    )
    .await;
    let camille = contributor(app, &project, "Camille Durand", 1).await;
    let path = format!("/v1/projects/{project}/contributors");
    assert_problem(
        app.send_as(None, Method::GET, &path, None).await,
        404,
        "project_not_found",
        "a private project's contributors are not listed to strangers",
    )
    .await;
    let token = app.token_for(&camille);
    let own = json_of(app.send_as(Some(&token), Method::GET, &path, None).await).await;
    assert_eq!(own["items"][0]["name"], "Camille Durand", "members read it");
}

async fn the_setting_is_checked_and_owners_alone_change_it(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let path = format!("/v1/projects/{project}");
    let refused = app
        .client
        .patch(app.url(&path))
        .json(&json!({"contributor_names": "everyone"}))
        .send()
        .await
        .expect("patch");
    assert_problem(
        refused,
        422,
        "invalid_body",
        "an unknown setting is refused",
    )
    .await;
    let (_, treasurer) = app.member(&project, "treasurer").await;
    let response = app
        .send_as(
            Some(&treasurer),
            Method::PATCH,
            &path,
            Some(&json!({"contributor_names": "names"})),
        )
        .await;
    assert_problem(response, 403, "forbidden", "owners alone change it").await;
    let created = json_of(
        app.post(
            "/v1/projects",
            &json!({"name": "Named", "currency": "EUR", "contributor_names": "initials"}),
        )
        .await,
    )
    .await;
    assert_eq!(created["contributor_names"], "initials", "set at creation");
    let read = json_of(app.get(&path).await).await;
    assert_eq!(
        read["contributor_names"], "hidden",
        "unchanged by the refusals"
    );
}

/// A public project publishes agent ids (in contributions and distribution
/// lines); reading an agent by id must not name a contributor the project
/// keeps hidden. A signed-in caller reads themself, agents they recorded,
/// their co-members and the agents their projects name.
async fn an_agent_id_is_no_way_to_a_hidden_name(app: &TestApp) {
    let project = app.create_project("EUR").await;
    set(
        app,
        &project,
        json!({"public": true, "allow_unvalued": true}),
    )
    .await;
    let camille = contributor(app, &project, "Camille Durand", 1).await;
    let other = app.create_project("EUR").await;
    let (stranger_id, stranger) = app.member(&other, "treasurer").await;
    let read = |token: String, agent: String| async move {
        app.send_as(
            Some(&token),
            Method::GET,
            &format!("/v1/agents/{agent}"),
            None,
        )
        .await
    };
    assert_problem(
        read(stranger.clone(), camille.clone()).await,
        404,
        "agent_not_found",
        "a stranger holding a contributor's public id learns no name",
    )
    .await;
    let (_, co_member) = app.member(&project, "auditor").await;
    let seen = json_of(read(co_member, camille.clone()).await).await;
    assert_eq!(seen["name"], "Camille Durand", "a co-member reads it");
    assert_eq!(
        read(stranger.clone(), stranger_id.clone()).await.status(),
        200,
        "anyone reads themself"
    );
    let recorded = json_of(
        app.send_as(
            Some(&stranger),
            Method::POST,
            "/v1/agents",
            Some(&json!({"kind": "organisation", "name": "Fondation Horizon"})),
        )
        .await,
    )
    .await;
    let funder = recorded["id"].as_str().expect("id").to_owned();
    assert_eq!(
        read(stranger.clone(), funder.clone()).await.status(),
        200,
        "whoever records an agent reads it back"
    );
    let (_, colleague) = app.member(&other, "contributor").await;
    assert_eq!(
        read(colleague.clone(), funder.clone()).await.status(),
        404,
        "not yet named by any of the colleague's projects"
    );
    let grant = app
        .send_as(
            Some(&stranger),
            Method::POST,
            &format!("/v1/projects/{other}/grants"),
            Some(
                &json!({"funder": funder, "kind": "donation", "reference": "D-1",
                "amount": "100.00", "currency": "EUR", "received_on": "2026-03-01"}),
            ),
        )
        .await;
    assert_eq!(
        grant.status(),
        201,
        "{}",
        grant.text().await.unwrap_or_default()
    );
    assert_eq!(
        read(colleague, funder).await.status(),
        200,
        "a funder of their project is named to its members"
    );
    assert_eq!(
        json_of(app.get(&format!("/v1/agents/{camille}")).await).await["name"],
        "Camille Durand",
        "administrators read every agent"
    );
}
