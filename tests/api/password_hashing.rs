//! Password hashing under load: never more hashes at once than there are
//! hashers, a bounded queue answered 503 `sign_in_busy` with `Retry-After`
//! when full, and a ceiling of sign-ins per minute for the whole instance
//! that holds whatever the number of client addresses.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use commons_ledger::auth::TokenKeys;
use commons_ledger::auth::hashers::{HasherLimits, Hashers};
use serde_json::json;

use crate::helpers::{Backend, TEST_JWT_SECRET, TestApp, assert_problem};

const EMAIL: &str = "camille@openair-lyon.org";
const PASSWORD: &str = "calibrate the sensors at dawn";

fn keys() -> TokenKeys {
    TokenKeys::new(TEST_JWT_SECRET, "commons-ledger", "commons-ledger", 3_600).expect("keys")
}

/// Runs a scenario on SQLite, and on PostgreSQL when one is configured.
macro_rules! on_both {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario(crate::helpers::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if std::env::var(crate::helpers::POSTGRES_URL_VARIABLE).is_err() {
                    eprintln!("skipped: {} is not set", crate::helpers::POSTGRES_URL_VARIABLE);
                    return;
                }
                super::$scenario(crate::helpers::Backend::Postgres).await;
            }
        }
    )*};
}

on_both!(
    a_full_queue_answers_503_with_retry_after,
    the_instance_ceiling_holds_across_addresses
);

async fn sign_in_from(
    app: &TestApp,
    address: Option<IpAddr>,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .local_address(address)
        .build()
        .expect("client");
    client
        .post(app.url("/v1/auth/token"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("request")
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response
        .headers()
        .get("Retry-After")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After header in whole seconds")
}

async fn a_full_queue_answers_503_with_retry_after(backend: Backend) {
    let hashers = Arc::new(
        Hashers::start(HasherLimits {
            hashers: 1,
            queue: 1,
            wait: Duration::from_secs(60),
        })
        .expect("hashers"),
    );
    let app =
        crate::helpers::spawn_app_with_hashers(backend, keys(), |_| {}, Some(hashers.clone()))
            .await
            .expect("app");
    let created = app
        .post(
            "/v1/agents",
            &json!({"kind": "person", "name": "Camille", "email": EMAIL, "password": PASSWORD}),
        )
        .await;
    assert_eq!(created.status(), 201, "hashing a new password");

    // Hold the only hasher, and take the only place in the queue.
    let (started, has_started) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let held = hashers
        .submit(move |_| {
            started.send(()).expect("the test listens");
            released.recv().expect("released");
        })
        .expect("the hasher is free");
    let held = tokio::spawn(held);
    has_started.recv().expect("the hasher is held");
    let queued = tokio::spawn(hashers.submit(|_| ()).expect("the queue has one place"));

    let response = sign_in_from(&app, None, EMAIL, PASSWORD).await;
    assert_eq!(retry_after(&response), 1, "sign-in says when to retry");
    assert_problem(response, 503, "sign_in_busy", "sign-in with the queue full").await;
    let response = app
        .post(
            "/v1/agents",
            &json!({"kind": "person", "name": "Inès", "email": "ines@openair-lyon.org", "password": PASSWORD}),
        )
        .await;
    assert_eq!(retry_after(&response), 1);
    assert_problem(
        response,
        503,
        "sign_in_busy",
        "setting a password with the queue full",
    )
    .await;

    release.send(()).expect("the job waits");
    held.await.expect("task").expect("the held job ran");
    queued.await.expect("task").expect("the queued job ran");
    let response = sign_in_from(&app, None, EMAIL, PASSWORD).await;
    assert_eq!(
        response.status(),
        200,
        "signing in works again once the queue drains"
    );
}

async fn the_instance_ceiling_holds_across_addresses(backend: Backend) {
    let app = crate::helpers::spawn_app_with(backend, keys(), |settings| {
        settings.login_attempts_per_instance = 2;
    })
    .await
    .expect("app");
    // Each attempt from its own loopback address and for its own account, so
    // neither the per-address nor the per-account limit is what refuses.
    for i in 1..=2_u8 {
        let response = sign_in_from(
            &app,
            Some(IpAddr::from([127, 0, 0, 10 + i])),
            &format!("nobody{i}@example.org"),
            PASSWORD,
        )
        .await;
        assert_eq!(response.status(), 401, "attempt {i} is verified");
    }
    let response = sign_in_from(
        &app,
        Some(IpAddr::from([127, 0, 0, 13])),
        "nobody3@example.org",
        PASSWORD,
    )
    .await;
    assert!(retry_after(&response) >= 1);
    assert_problem(
        response,
        503,
        "sign_in_busy",
        "a third sign-in in a minute, from a third address",
    )
    .await;
}
