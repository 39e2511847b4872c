//! `serve --read-only`: the binary over a database it must not write.
//! On both backends, over the primary's own database: reads, reports and
//! signing in are served and equal the primary's, every write is refused
//! 503 `read_only_instance` with nothing written, and a schema behind the
//! binary is refused at start. On PostgreSQL, over a real streaming replica
//! made with `pg_basebackup`: once the replica has replayed the primary's
//! last write, its exports equal the primary's byte for byte.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::helpers::{TEST_JWT_SECRET, TestApp, json_of, transfer_body};

#[path = "../../benches/support/standby.rs"]
mod standby;
use standby::{caught_up, scalar, start_standby};

const BINARY: &str = env!("CARGO_BIN_EXE_commons-ledger");

crate::on_both_backends!(read_only_instance_serves_reads_and_refuses_writes);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

/// A `serve --read-only` process, stopped when dropped.
struct ReadOnly {
    child: Child,
    address: String,
    log: tempfile::NamedTempFile,
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ReadOnly {
    fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

fn read_only_command(database_url: &str) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("COMMONS_LEDGER_DATABASE_URL", database_url)
        .env(
            "COMMONS_LEDGER_JWT_SECRET",
            std::str::from_utf8(TEST_JWT_SECRET).expect("text secret"),
        )
        .env("COMMONS_LEDGER_LOG", "info")
        .args(["serve", "--read-only"]);
    command
}

/// Starts `serve --read-only` on `database_url` and waits until it answers
/// (bounded), or returns its log if it exits first.
async fn start_read_only(database_url: &str) -> Result<ReadOnly, String> {
    let port = free_port();
    let log = tempfile::NamedTempFile::new().expect("log file");
    let child = read_only_command(database_url)
        .env("COMMONS_LEDGER_BIND", format!("127.0.0.1:{port}"))
        .stdout(log.reopen().expect("log"))
        .stderr(log.reopen().expect("log"))
        .spawn()
        .expect("spawn");
    let mut server = ReadOnly {
        child,
        address: format!("http://127.0.0.1:{port}"),
        log,
    };
    let client = reqwest::Client::new();
    for _ in 0..400 {
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(format!("exited {status}: {}", server.log()));
        }
        if client
            .get(format!("{}/readyz", server.address))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return Ok(server);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Err(format!("did not come up: {}", server.log()))
}

/// A project with a few transfers, an agent who can sign in, and its id.
async fn books(app: &TestApp) -> String {
    let project = app.create_project("EUR").await;
    app.create_account(&project, "donors", "EUR", false).await;
    app.create_account(&project, "reserve", "EUR", true).await;
    for amount in ["10.00", "2.50", "0.01"] {
        let response = app
            .post(
                &format!("/v1/projects/{project}/transactions"),
                &transfer_body("donors", "reserve", amount, "EUR"),
            )
            .await;
        assert_eq!(response.status(), 201);
    }
    project
}

async fn text(client: &reqwest::Client, url: String, token: &str) -> (u16, String) {
    let response = client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    (
        response.status().as_u16(),
        response.text().await.expect("body"),
    )
}

/// The reads a funder or an integrator makes, on `base`: balances, the
/// journal as CSV and for hledger, the transactions, the verification.
async fn reads(base: &str, project: &str, token: &str) -> Vec<(u16, String)> {
    let client = reqwest::Client::new();
    let mut answers = Vec::new();
    for path in [
        "balances",
        "reports/journal.csv",
        "reports/journal.hledger",
        "transactions",
        "ledger/verification",
        "events",
    ] {
        answers.push(
            text(
                &client,
                format!("{base}/v1/projects/{project}/{path}"),
                token,
            )
            .await,
        );
    }
    answers
}

async fn read_only_instance_serves_reads_and_refuses_writes(app: &TestApp) {
    let project = books(app).await;
    let response = app
        .post(
            "/v1/agents",
            &json!({"kind": "person", "name": "Reader", "email": "reader@example.org",
                    "password": "correct horse battery staple"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let replica = start_read_only(&app.database_url)
        .await
        .expect("read-only instance");
    let token = app.token_for(&app.admin_id);

    let primary = reads(&app.address, &project, &token).await;
    let served = reads(&replica.address, &project, &token).await;
    assert!(
        primary.iter().all(|(status, _)| *status == 200),
        "{primary:?}"
    );
    assert_eq!(served, primary, "the same reads, the same answers");

    // Signing in writes nothing, so it is served.
    let client = reqwest::Client::new();
    let signed_in = client
        .post(format!("{}/v1/auth/token", replica.address))
        .json(&json!({"email": "reader@example.org", "password": "correct horse battery staple"}))
        .send()
        .await
        .expect("request");
    assert_eq!(signed_in.status(), 200, "{}", replica.log());

    // Every write is refused before it reaches the database.
    let before = app.transaction_count(&project).await;
    let writes: [(reqwest::Method, String, Value); 4] = [
        (
            reqwest::Method::POST,
            format!("/v1/projects/{project}/transactions"),
            transfer_body("donors", "reserve", "1.00", "EUR"),
        ),
        (
            reqwest::Method::PATCH,
            format!("/v1/projects/{project}"),
            json!({"name": "Renamed"}),
        ),
        (
            reqwest::Method::DELETE,
            format!("/v1/projects/{project}/members/{}", app.admin_id),
            json!({}),
        ),
        (
            reqwest::Method::POST,
            "/v1/projects".to_owned(),
            json!({"name": "Another", "currency": "EUR"}),
        ),
    ];
    for (method, path, body) in writes {
        let response = client
            .request(method.clone(), format!("{}{path}", replica.address))
            .bearer_auth(&token)
            .header("Idempotency-Key", format!("read-only-{method}-{path}"))
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 503, "{method} {path}");
        assert!(
            response.headers().get("Retry-After").is_none(),
            "retrying the same instance would not help"
        );
        let problem = json_of(response).await;
        assert_eq!(problem["code"], "read_only_instance", "{method} {path}");
    }
    assert_eq!(app.transaction_count(&project).await, before);
    let project_now = json_of(app.get(&format!("/v1/projects/{project}")).await).await;
    assert_eq!(project_now["name"], "OpenAir Lyon", "nothing renamed");

    // The primary still writes, and the read-only instance reads it at once.
    let response = app
        .post(
            &format!("/v1/projects/{project}/transactions"),
            &transfer_body("donors", "reserve", "1.00", "EUR"),
        )
        .await;
    assert_eq!(response.status(), 201);
    let served = reads(&replica.address, &project, &token).await;
    assert_eq!(served, reads(&app.address, &project, &token).await);
}

/// A database whose schema is behind the binary (here: never migrated) is
/// refused at start, and left as it was: no table is created.
#[test]
fn a_schema_behind_the_binary_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("directory");
    let path = dir.path().join("empty.db");
    {
        let conn = open_sqlite(&path);
        drop(conn);
    }
    let url = format!("sqlite://{}", path.display());
    let output = read_only_command(&url)
        .env("COMMONS_LEDGER_BIND", format!("127.0.0.1:{}", free_port()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run");
    assert!(!output.status.success(), "refused");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("schema is behind this binary") && stderr.contains("migrate the primary"),
        "{stderr}"
    );
    let tables = sqlite_tables(&path);
    assert!(tables.is_empty(), "nothing created: {tables:?}");
}

/// An empty SQLite database file.
fn open_sqlite(path: &std::path::Path) -> diesel::SqliteConnection {
    use diesel::Connection;
    diesel::SqliteConnection::establish(&path.display().to_string()).expect("create")
}

fn sqlite_tables(path: &std::path::Path) -> Vec<String> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Table {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let mut conn = open_sqlite(path);
    let tables: Vec<Table> =
        diesel::sql_query("SELECT name FROM sqlite_master WHERE type = 'table'")
            .load(&mut conn)
            .expect("tables");
    tables.into_iter().map(|t| t.name).collect()
}

/// A real streaming replica: `pg_basebackup` of the test server, started as
/// a hot standby; the primary writes on; once the standby has replayed
/// those writes, `serve --read-only` over it gives the primary's exports
/// byte for byte, and refuses writes (which the standby itself would
/// refuse too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(replica_tests),
    ignore = "COMMONS_LEDGER_TEST_REPLICA is not set (needs PostgreSQL allowing replication from 127.0.0.1)"
)]
async fn a_streaming_replica_serves_the_primarys_exports() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Postgres)
        .await
        .expect("PostgreSQL app: set COMMONS_LEDGER_TEST_POSTGRES_URL");
    let project = books(&app).await;
    let standby = start_standby(&app.database_url);
    // Writes after the backup reach the standby only by streaming.
    for amount in ["7.00", "0.99"] {
        let response = app
            .post(
                &format!("/v1/projects/{project}/transactions"),
                &transfer_body("donors", "reserve", amount, "EUR"),
            )
            .await;
        assert_eq!(response.status(), 201);
    }
    let standby_url = standby.url_of(&app.database_url);
    caught_up(&app.database_url, &standby_url).await;
    assert_eq!(
        scalar(&standby_url, "SELECT pg_is_in_recovery()::text AS value"),
        "true",
        "a standby, not a copy"
    );

    let replica = start_read_only(&standby_url)
        .await
        .expect("read-only instance over the standby");
    let token = app.token_for(&app.admin_id);
    let primary = reads(&app.address, &project, &token).await;
    let served = reads(&replica.address, &project, &token).await;
    assert!(
        primary.iter().all(|(status, _)| *status == 200),
        "{primary:?}"
    );
    assert!(
        primary[1].1.contains("7.00") && primary[1].1.contains("0.99"),
        "the journal holds the streamed writes"
    );
    assert_eq!(served, primary, "the replica's exports are the primary's");

    let response = reqwest::Client::new()
        .post(format!(
            "{}/v1/projects/{project}/transactions",
            replica.address
        ))
        .bearer_auth(&token)
        .json(&transfer_body("donors", "reserve", "1.00", "EUR"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 503);
    assert_eq!(json_of(response).await["code"], "read_only_instance");
    drop(replica);
    drop(standby);
}
