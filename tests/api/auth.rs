//! Signing in, the tokens the service accepts and refuses, and the login
//! rate limit.

use reqwest::Method;
use serde_json::json;

use commons_ledger::auth::TokenKeys;

use crate::helpers::{TEST_JWT_SECRET, TestApp, assert_problem, json_of};
use crate::on_both_backends;

on_both_backends!(
    a_person_signs_in_and_sees_their_memberships,
    wrong_credentials_are_refused_alike,
    bad_tokens_are_refused,
    sign_in_attempts_are_limited,
    members_are_managed_by_owners,
    agents_get_credentials_from_administrators_only,
    signing_out_revokes_the_token_sent_and_no_other,
    project_routes_refuse_bad_tokens_as_everywhere,
);

const PASSWORD: &str = "calibrate the sensors at dawn";

async fn credentialed_person(app: &TestApp, email: &str) -> String {
    let response = app
        .post(
            "/v1/agents",
            &json!({"kind": "person", "name": "Camille", "email": email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let agent = json_of(response).await;
    assert_eq!(agent["has_credentials"], true);
    assert!(
        agent.get("password").is_none() && !agent.to_string().contains(PASSWORD),
        "passwords are never returned"
    );
    agent["id"].as_str().expect("id").to_owned()
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.send_as(
        None,
        Method::POST,
        "/v1/auth/token",
        Some(&json!({"email": email, "password": password})),
    )
    .await
}

async fn a_person_signs_in_and_sees_their_memberships(app: &TestApp) {
    let person = credentialed_person(app, "camille@openair-lyon.org").await;
    let project = app.create_project("EUR").await;
    let response = app
        .post(
            &format!("/v1/projects/{project}/members"),
            &json!({"agent": person, "role": "treasurer"}),
        )
        .await;
    assert_eq!(response.status(), 201);

    let response = sign_in(app, "Camille@OpenAir-Lyon.org", PASSWORD).await;
    assert_eq!(response.status(), 200, "emails ignore case");
    let token = json_of(response).await;
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 3600);
    let access = token["access_token"].as_str().expect("token").to_owned();

    let me = json_of(
        app.send_as(Some(&access), Method::GET, "/v1/me", None)
            .await,
    )
    .await;
    assert_eq!(me["agent"]["id"], person.as_str());
    assert_eq!(
        me["agent"]["email"], "camille@openair-lyon.org",
        "people see their own email"
    );
    assert_eq!(me["memberships"][0]["project_id"], project.as_str());
    assert_eq!(me["memberships"][0]["role"], "treasurer");
    let write = app
        .send_as(
            Some(&access),
            Method::POST,
            &format!("/v1/projects/{project}/accounts"),
            Some(&json!({"name": "pool:general", "currency": "EUR", "non_negative": true})),
        )
        .await;
    assert_eq!(
        write.status(),
        201,
        "a treasurer's token writes money accounts"
    );
}

async fn wrong_credentials_are_refused_alike(app: &TestApp) {
    credentialed_person(app, "ada@example.org").await;
    let organisation = json_of(
        app.post(
            "/v1/agents",
            &json!({"kind": "organisation", "name": "Fondation Horizon"}),
        )
        .await,
    )
    .await;
    assert_eq!(organisation["has_credentials"], false);
    let wrong_password = assert_problem(
        sign_in(app, "ada@example.org", "not the password at all").await,
        401,
        "invalid_credentials",
        "wrong password",
    )
    .await;
    let unknown_email = assert_problem(
        sign_in(app, "nobody@example.org", PASSWORD).await,
        401,
        "invalid_credentials",
        "unknown email",
    )
    .await;
    assert_eq!(
        wrong_password["detail"], unknown_email["detail"],
        "the answer does not reveal which was wrong"
    );
    let response = sign_in(app, "ada@example.org", "not the password at all").await;
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
}

/// Base64url without padding, for hand-made tokens.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

async fn bad_tokens_are_refused(app: &TestApp) {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = |exp: u64, aud: &str| json!({"sub": app.admin_id, "iat": now - 7200, "exp": exp, "iss": "commons-ledger", "aud": aud, "ver": 0});
    let sign = |claims: serde_json::Value, secret: &[u8]| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret),
        )
        .expect("token")
    };
    let unsigned = format!(
        "{}.{}.",
        base64url(br#"{"alg":"none","typ":"JWT"}"#),
        base64url(claims(now + 3600, "commons-ledger").to_string().as_bytes())
    );
    let other_key =
        TokenKeys::new(&[9u8; 32], "commons-ledger", "commons-ledger", 3600).expect("keys");
    let valid = sign(claims(now + 3600, "commons-ledger"), TEST_JWT_SECRET);
    assert_eq!(
        app.send_as(Some(&valid), Method::GET, "/v1/me", None)
            .await
            .status(),
        200,
        "the control token works"
    );

    let cases = [
        (
            sign(claims(now - 120, "commons-ledger"), TEST_JWT_SECRET),
            "token_expired",
            "expired",
        ),
        (
            other_key.issue(&app.admin_id, 0).expect("token"),
            "invalid_token",
            "signed with another key",
        ),
        (unsigned, "invalid_token", "alg none"),
        (
            sign(claims(now + 3600, "another-service"), TEST_JWT_SECRET),
            "invalid_token",
            "another audience",
        ),
        ("not-a-jwt".to_owned(), "invalid_token", "garbage"),
        (
            sign(
                json!({"sub": app.admin_id, "iat": now + 600, "exp": now + 3600,
                       "iss": "commons-ledger", "aud": "commons-ledger", "ver": 0}),
                TEST_JWT_SECRET,
            ),
            "invalid_token",
            "issued ten minutes in the future",
        ),
        (
            jsonwebtoken::encode(
                &jsonwebtoken::Header {
                    crit: Some(vec!["x-policy".to_owned()]),
                    ..jsonwebtoken::Header::default()
                },
                &claims(now + 3600, "commons-ledger"),
                &jsonwebtoken::EncodingKey::from_secret(TEST_JWT_SECRET),
            )
            .expect("token"),
            "invalid_token",
            "a critical header extension nobody here understands",
        ),
    ];
    for (token, code, rule) in cases {
        assert_problem(
            app.send_as(Some(&token), Method::GET, "/v1/me", None).await,
            401,
            code,
            rule,
        )
        .await;
        // A bad token is refused even where no token is needed.
        assert_problem(
            app.send_as(Some(&token), Method::GET, "/v1/projects", None)
                .await,
            401,
            code,
            rule,
        )
        .await;
    }

    // A removed member loses the project at once, and nothing else: the
    // same token still signs them in.
    let project = app.create_project("EUR").await;
    let (member, token) = app.member(&project, "treasurer").await;
    assert_eq!(
        app.send_as(
            Some(&token),
            Method::GET,
            &format!("/v1/projects/{project}"),
            None
        )
        .await
        .status(),
        200
    );
    let removed = app
        .client
        .delete(app.url(&format!("/v1/projects/{project}/members/{member}")))
        .send()
        .await
        .expect("request");
    assert_eq!(removed.status(), 204);
    assert_problem(
        app.send_as(
            Some(&token),
            Method::GET,
            &format!("/v1/projects/{project}"),
            None,
        )
        .await,
        404,
        "project_not_found",
        "the removed member's next request no longer sees the project",
    )
    .await;
    assert_eq!(
        app.send_as(Some(&token), Method::GET, "/v1/me", None)
            .await
            .status(),
        200,
        "the token itself is not revoked"
    );
    assert_problem(
        app.send_as(None, Method::GET, "/v1/me", None).await,
        401,
        "authentication_required",
        "no token",
    )
    .await;
}

async fn sign_in_attempts_are_limited(app: &TestApp) {
    credentialed_person(app, "grace@example.org").await;
    for attempt in 0..5 {
        let response = sign_in(app, "grace@example.org", "guessing the password").await;
        assert_eq!(response.status(), 401, "attempt {attempt} is judged");
    }
    let response = sign_in(app, "grace@example.org", PASSWORD).await;
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(
        rate_limit(&response),
        [Some(5), Some(0), Some(retry_after)],
        "a 429 says which limit it reached, that none is left, and when the next attempt is allowed"
    );
    assert_problem(
        response,
        429,
        "too_many_attempts",
        "the sixth attempt in a minute waits, even with the right password",
    )
    .await;
    credentialed_person(app, "alan@example.org").await;
    let signed_in = sign_in(app, "alan@example.org", PASSWORD).await;
    assert_eq!(signed_in.status(), 200, "other accounts are not locked out");
    let [limit, remaining, reset] = rate_limit(&signed_in);
    assert_eq!(
        (limit, remaining),
        (Some(5), Some(4)),
        "a sign-in tells what is left of the tighter limit, its account's"
    );
    assert!(
        reset.is_some_and(|reset| (1..=60).contains(&reset)),
        "and when every attempt is allowed again: {reset:?}"
    );
}

/// The `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` of a sign-in.
fn rate_limit(response: &reqwest::Response) -> [Option<u64>; 3] {
    ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"].map(|name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
    })
}

async fn members_are_managed_by_owners(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let (treasurer, _) = app.member(&project, "treasurer").await;
    let path = format!("/v1/projects/{project}/members");
    let listed = json_of(app.get(&path).await).await;
    let roles: Vec<(&str, &str)> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| {
            (
                m["agent"].as_str().expect("agent"),
                m["role"].as_str().expect("role"),
            )
        })
        .collect();
    assert!(
        roles.contains(&(app.admin_id.as_str(), "owner")),
        "the creator owns the project"
    );
    assert!(roles.contains(&(treasurer.as_str(), "treasurer")));

    assert_problem(
        app.post(&path, &json!({"agent": treasurer, "role": "auditor"}))
            .await,
        409,
        "member_exists",
        "one membership per agent",
    )
    .await;
    assert_problem(
        app.post(
            &path,
            &json!({"agent": "01900000-0000-7000-8000-000000000000", "role": "auditor"}),
        )
        .await,
        422,
        "unknown_agent",
        "unknown agent",
    )
    .await;
    assert_problem(
        app.post(&path, &json!({"agent": treasurer, "role": "boss"}))
            .await,
        422,
        "invalid_body",
        "unknown role",
    )
    .await;

    let updated = app
        .client
        .patch(app.url(&format!("{path}/{treasurer}")))
        .json(&json!({"role": "owner"}))
        .send()
        .await
        .expect("request");
    assert_eq!(json_of(updated).await["role"], "owner");
    let admin_path = format!("{path}/{}", app.admin_id);
    assert_eq!(
        app.client
            .delete(app.url(&admin_path))
            .send()
            .await
            .expect("request")
            .status(),
        204,
        "another owner remains"
    );
    // Leaving a project changed nothing about the administrator's token.
    let admin = app.token_for(&app.admin_id);
    let last = app
        .send_as(
            Some(&admin),
            Method::DELETE,
            &format!("{path}/{treasurer}"),
            None,
        )
        .await;
    assert_problem(last, 409, "last_owner", "a project keeps an owner").await;
    let demote = app
        .send_as(
            Some(&admin),
            Method::PATCH,
            &format!("{path}/{treasurer}"),
            Some(&json!({"role": "auditor"})),
        )
        .await;
    assert_problem(
        demote,
        409,
        "last_owner",
        "the last owner cannot be demoted",
    )
    .await;
    let missing = app
        .send_as(Some(&admin), Method::DELETE, &admin_path, None)
        .await;
    assert_problem(missing, 404, "member_not_found", "already removed").await;
}

async fn agents_get_credentials_from_administrators_only(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let (owner_id, owner) = app.member(&project, "owner").await;
    let organisation = app
        .send_as(
            Some(&owner),
            Method::POST,
            "/v1/agents",
            Some(&json!({"kind": "organisation", "name": "Fondation Horizon"})),
        )
        .await;
    assert_eq!(
        organisation.status(),
        201,
        "anyone signed in records agents"
    );
    let with_password = json!({"kind": "person", "name": "Mallory", "email": "mallory@example.org", "password": "a long enough password"});
    assert_problem(
        app.send_as(
            Some(&owner),
            Method::POST,
            "/v1/agents",
            Some(&with_password),
        )
        .await,
        403,
        "admin_only",
        "credentials come from administrators",
    )
    .await;
    let promote = json!({"kind": "person", "name": "Mallory", "admin": true});
    assert_problem(
        app.send_as(Some(&owner), Method::POST, "/v1/agents", Some(&promote))
            .await,
        403,
        "admin_only",
        "so do administrator rights",
    )
    .await;

    let cases = [
        (
            json!({"kind": "person", "name": "A", "email": "not-an-email", "password": "a long enough password"}),
            "invalid_email",
        ),
        (
            json!({"kind": "person", "name": "A", "email": "a@example.org", "password": "short"}),
            "invalid_password",
        ),
        (json!({"kind": "person", "name": " "}), "invalid_name"),
        (
            json!({"kind": "organisation", "name": "Org", "admin": true}),
            "invalid_admin",
        ),
    ];
    for (body, code) in cases {
        assert_problem(app.post("/v1/agents", &body).await, 422, code, code).await;
    }
    credentialed_person(app, "taken@example.org").await;
    let duplicate = json!({"kind": "person", "name": "Other", "email": "TAKEN@example.org", "password": "a long enough password"});
    assert_problem(
        app.post("/v1/agents", &duplicate).await,
        409,
        "email_taken",
        "emails are unique, whatever their case",
    )
    .await;

    let listed = json_of(
        app.send_as(Some(&owner), Method::GET, "/v1/agents?limit=1000", None)
            .await,
    )
    .await;
    let items = listed["items"].as_array().expect("items");
    let mut ids: Vec<&str> = items
        .iter()
        .map(|a| a["id"].as_str().expect("id"))
        .collect();
    ids.sort_unstable();
    let mut sharing = vec![owner_id.as_str(), app.admin_id.as_str()];
    sharing.sort_unstable();
    assert_eq!(
        ids, sharing,
        "a non-administrator lists themself and the members of their projects, nobody else"
    );
    for agent in items.iter().filter(|a| a["id"] != owner_id.as_str()) {
        assert!(
            agent["email"].is_null()
                && agent.get("has_credentials").is_none()
                && agent.get("admin").is_none(),
            "others' emails and sign-in flags are hidden from non-administrators: {agent}"
        );
    }
    let me = items
        .iter()
        .find(|a| a["id"] == owner_id.as_str())
        .expect("themself");
    assert_eq!(
        (&me["has_credentials"], &me["admin"]),
        (&json!(false), &json!(false)),
        "their own flags are shown"
    );
    let as_admin = json_of(app.get("/v1/agents?limit=1000").await).await;
    assert!(
        as_admin["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|a| a["email"] == "taken@example.org"),
        "administrators see emails"
    );
}

async fn signing_out_revokes_the_token_sent_and_no_other(app: &TestApp) {
    let agent = credentialed_person(app, "camille-out@openair-lyon.org").await;
    let token_of =
        |response: serde_json::Value| response["access_token"].as_str().expect("token").to_owned();
    let first =
        token_of(json_of(sign_in(app, "camille-out@openair-lyon.org", PASSWORD).await).await);
    let second =
        token_of(json_of(sign_in(app, "camille-out@openair-lyon.org", PASSWORD).await).await);
    let me =
        |token: String| async move { app.send_as(Some(&token), Method::GET, "/v1/me", None).await };
    assert_eq!(me(first.clone()).await.status(), 200);
    let out = app
        .send_as(Some(&first), Method::DELETE, "/v1/auth/token", None)
        .await;
    assert_eq!(out.status(), 204, "signed out");
    assert_problem(
        me(first.clone()).await,
        401,
        "token_revoked",
        "the token sent is revoked",
    )
    .await;
    assert_eq!(
        me(second.clone()).await.status(),
        200,
        "the agent's other token still works"
    );
    assert_eq!(
        app.send_as(
            Some(&app.token_for(&app.admin_id)),
            Method::GET,
            "/v1/me",
            None
        )
        .await
        .status(),
        200,
        "no one else is signed out"
    );
    // A token without an id (issued before tokens had one) cannot be revoked
    // by it, and says so; it still works until it expires.
    let now = jsonwebtoken::get_current_timestamp();
    let without_id = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": agent, "iat": now, "exp": now + 600, "iss": "commons-ledger", "aud": "commons-ledger", "ver": 0}),
        &jsonwebtoken::EncodingKey::from_secret(TEST_JWT_SECRET),
    )
    .expect("token");
    for (token, status, code, rule) in [
        (
            Some(&first),
            401,
            "token_revoked",
            "a revoked token cannot be used again, even to sign out",
        ),
        (
            None,
            401,
            "authentication_required",
            "signing out needs the token to revoke",
        ),
        (
            Some(&without_id),
            422,
            "token_not_revocable",
            "a token without an id",
        ),
    ] {
        let response = app
            .send_as(
                token.map(String::as_str),
                Method::DELETE,
                "/v1/auth/token",
                None,
            )
            .await;
        assert_problem(response, status, code, rule).await;
    }
    assert_eq!(me(without_id).await.status(), 200);
}

/// A token of this service is checked in the statement that reads the
/// project (its agent, its revocation, the project and the caller's role
/// together): on a project's reads and writes, a revoked token, a token of
/// another version than its agent's and a token naming no agent are
/// refused exactly as on `/v1/me`, whether the project exists or not, and
/// the agent's good token is let in.
async fn project_routes_refuse_bad_tokens_as_everywhere(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let (agent, good) = app.member(&project, "owner").await;
    let revoked = app.token_for(&agent);
    let out = app
        .send_as(Some(&revoked), Method::DELETE, "/v1/auth/token", None)
        .await;
    assert_eq!(out.status(), 204);
    let now = jsonwebtoken::get_current_timestamp();
    let crafted = |sub: &str, ver: i64| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &json!({"sub": sub, "iat": now, "exp": now + 600, "iss": "commons-ledger",
                "aud": "commons-ledger", "ver": ver, "jti": uuid::Uuid::now_v7().to_string()}),
            &jsonwebtoken::EncodingKey::from_secret(TEST_JWT_SECRET),
        )
        .expect("token")
    };
    let other_version = crafted(&agent, 7);
    let nobody = crafted(&uuid::Uuid::now_v7().to_string(), 0);
    let missing = uuid::Uuid::now_v7().to_string();
    let write = |token: String, project: String| async move {
        app.anonymous
            .post(app.url(&format!("/v1/projects/{project}/accounts")))
            .bearer_auth(token)
            .header("Idempotency-Key", uuid::Uuid::now_v7().to_string())
            .json(&json!({"name": "pool:field-kits", "currency": "EUR"}))
            .send()
            .await
            .expect("request")
    };
    let read = |token: String, project: String| async move {
        let path = format!("/v1/projects/{project}/accounts");
        app.send_as(Some(&token), Method::GET, &path, None).await
    };
    for (token, rule) in [
        (revoked, "a revoked token"),
        (other_version, "a token of another version than its agent's"),
        (nobody, "a token naming no agent"),
    ] {
        let on_me = app.send_as(Some(&token), Method::GET, "/v1/me", None).await;
        assert_eq!(on_me.status(), 401, "{rule} on /v1/me");
        let code = json_of(on_me).await["code"]
            .as_str()
            .expect("code")
            .to_owned();
        for (response, place) in [
            (
                read(token.clone(), project.clone()).await,
                "a project's read",
            ),
            (
                write(token.clone(), project.clone()).await,
                "a project's write",
            ),
            (
                read(token.clone(), missing.clone()).await,
                "no such project",
            ),
        ] {
            assert_problem(response, 401, &code, &format!("{rule}: {place}")).await;
        }
    }
    assert_eq!(read(good.clone(), project.clone()).await.status(), 200);
    assert_eq!(write(good.clone(), project.clone()).await.status(), 201);
    assert_problem(
        read(good, missing).await,
        404,
        "project_not_found",
        "a good token on no such project",
    )
    .await;
}
