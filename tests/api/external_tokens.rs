//! Tokens of an external identity provider (EdDSA here), configured through
//! the same flags an operator uses, identify agents by their email.

use clap::Parser;
use reqwest::Method;
use serde_json::json;

use commons_ledger::config::Cli;
use commons_ledger::db::DatabaseUrl;
use commons_ledger::startup::token_keys;

use crate::helpers::{Backend, TEST_JWT_SECRET, assert_problem, json_of, spawn_app_with_keys};

const ISSUER: &str = "https://id.openair-lyon.example";

fn fixture(name: &str) -> String {
    format!("{}/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn external_token(private_key: &str, email: &str, issuer: &str) -> String {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({"sub": "idp|12345", "email": email, "iat": now, "exp": now + 600, "iss": issuer, "aud": "commons-ledger"});
    let pem = std::fs::read(fixture(private_key)).expect("key");
    let key = jsonwebtoken::EncodingKey::from_ed_pem(&pem).expect("ed25519 key");
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA),
        &claims,
        &key,
    )
    .expect("token")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_provider_tokens_identify_agents_by_email() {
    let secret = String::from_utf8(TEST_JWT_SECRET.to_vec()).expect("utf-8");
    let public_key = fixture("external-ed25519-public.pem");
    let cli = Cli::parse_from([
        "commons-ledger",
        "--jwt-secret",
        &secret,
        "--external-jwt-public-key-file",
        &public_key,
        "--external-jwt-algorithm",
        "EdDSA",
        "--external-jwt-issuer",
        ISSUER,
    ]);
    let url = DatabaseUrl::parse("sqlite://unused.db").expect("url");
    let keys = token_keys(&cli.settings, &url).expect("keys from the operator's flags");
    let app = spawn_app_with_keys(Backend::Sqlite, keys)
        .await
        .expect("app");

    let agent = json_of(
        app.post(
            "/v1/agents",
            &json!({"kind": "person", "name": "Camille", "email": "camille@openair-lyon.org"}),
        )
        .await,
    )
    .await;
    let token = external_token(
        "external-ed25519-private.pem",
        "Camille@openair-lyon.org",
        ISSUER,
    );
    let me = app.send_as(Some(&token), Method::GET, "/v1/me", None).await;
    let status = me.status();
    let body = json_of(me).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["agent"]["id"], agent["id"]);

    let cases = [
        (
            external_token(
                "other-ed25519-private.pem",
                "camille@openair-lyon.org",
                ISSUER,
            ),
            "invalid_token",
            "another key",
        ),
        (
            external_token(
                "external-ed25519-private.pem",
                "camille@openair-lyon.org",
                "https://evil.example",
            ),
            "invalid_token",
            "another issuer",
        ),
        (
            external_token(
                "external-ed25519-private.pem",
                "stranger@example.org",
                ISSUER,
            ),
            "invalid_token",
            "no agent has this email",
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
    }
    // Our own tokens keep working beside the provider's.
    assert_eq!(app.get("/v1/me").await.status(), 200);
}
