//! `spawn_app` and request helpers shared by every API test.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, OnceLock};

use commons_ledger::auth::TokenKeys;
use commons_ledger::auth::hashers::Hashers;
use commons_ledger::config::RuntimeSettings;
use commons_ledger::db::agents::NewAgent;
use commons_ledger::db::{Database, DatabaseUrl};
use commons_ledger::startup::Application;
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::{Value, json};

/// Environment variable naming a PostgreSQL server (any database on it) in
/// which each test creates, and afterwards drops, a database of its own.
pub const POSTGRES_URL_VARIABLE: &str = "COMMONS_LEDGER_TEST_POSTGRES_URL";

/// Body limit the test servers use (smaller than the default, so the limit
/// test stays fast).
pub const TEST_BODY_LIMIT_BYTES: usize = 65_536;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates `sqlite` and `postgres` tests running `scenario(app)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await
                    .expect("SQLite app");
                super::$scenario(&app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(postgres_tests), ignore = "COMMONS_LEDGER_TEST_POSTGRES_URL is not set")]
            async fn postgres() {
                let app = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await
                    .expect("PostgreSQL app: set COMMONS_LEDGER_TEST_POSTGRES_URL");
                super::$scenario(&app).await;
            }
        }
    )*};
}

/// The secret test servers sign tokens with.
pub const TEST_JWT_SECRET: &[u8] = b"test secret of at least thirty-two bytes, not for production";

/// A running application and what a test needs to talk to it.
pub struct TestApp {
    pub address: String,
    /// Sends every request as the instance administrator.
    pub client: reqwest::Client,
    /// Sends requests without a token (add one with `bearer_auth`).
    pub anonymous: reqwest::Client,
    pub keys: TokenKeys,
    pub admin_id: String,
    pub db: Arc<Database>,
    /// The database's URL, for the binary's subcommands.
    pub database_url: String,
    _storage: Storage,
}

enum Storage {
    /// Kept so the directory lives as long as the test.
    Sqlite {
        _dir: tempfile::TempDir,
    },
    Postgres {
        admin_url: String,
        name: String,
    },
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Storage::Postgres { admin_url, name } = self
            && let Ok(mut conn) = PgConnection::establish(admin_url)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut conn);
        }
    }
}

/// Starts the application on port 0 against a fresh database. Returns None
/// for PostgreSQL when no server is configured.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    let keys =
        TokenKeys::new(TEST_JWT_SECRET, "commons-ledger", "commons-ledger", 3_600).expect("keys");
    spawn_app_with_keys(backend, keys).await
}

/// Like `spawn_app`, with the given token keys.
pub async fn spawn_app_with_keys(backend: Backend, keys: TokenKeys) -> Option<TestApp> {
    spawn_app_with(backend, keys, |_| {}).await
}

/// Like `spawn_app`, with the given token keys and settings adjusted.
pub async fn spawn_app_with(
    backend: Backend,
    keys: TokenKeys,
    adjust: impl FnOnce(&mut RuntimeSettings),
) -> Option<TestApp> {
    spawn_app_with_hashers(backend, keys, adjust, None).await
}

/// Like `spawn_app_with`, hashing passwords on `hashers` when given (so a
/// test can hold them).
pub async fn spawn_app_with_hashers(
    backend: Backend,
    keys: TokenKeys,
    adjust: impl FnOnce(&mut RuntimeSettings),
    hashers: Option<Arc<Hashers>>,
) -> Option<TestApp> {
    let (url, storage) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temporary directory");
            let url = format!("sqlite://{}", dir.path().join("ledger.db").display());
            (url, Storage::Sqlite { _dir: dir })
        }
        Backend::Postgres => {
            let admin_url = std::env::var(POSTGRES_URL_VARIABLE).ok()?;
            let name = create_postgres_database(&admin_url);
            (
                replace_database(&admin_url, &name),
                Storage::Postgres { admin_url, name },
            )
        }
    };
    let db =
        Arc::new(Database::connect(&DatabaseUrl::parse(&url).expect("url"), 8).expect("database"));
    db.migrate().expect("migrations");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let settings = RuntimeSettings {
        body_limit_bytes: TEST_BODY_LIMIT_BYTES,
        idempotency_lease: std::time::Duration::from_secs(60),
        login_attempts_per_account: 5,
        login_attempts_per_address: 1_000,
        login_attempts_per_instance: 10_000,
        password_hash_memory_mib: 38,
        password_hash_queue: 64,
        password_hash_wait: std::time::Duration::from_secs(30),
        request_timeout: std::time::Duration::from_secs(30),
        client_request_timeout: std::time::Duration::from_secs(5),
        keep_alive: std::time::Duration::from_secs(5),
        max_connections: 1_024,
        group_commit_max: None,
        read_only: false,
        test_hooks: None,
        project_creation: commons_ledger::config::ProjectCreation::Anyone,
        signing_key_file: None,
        secure_cookies: false,
    };
    let mut settings = settings;
    adjust(&mut settings);
    let admin = insert_agent(&db, "Instance Admin", true);
    let admin_token = keys.issue(&admin, 0).expect("token");
    let app = match hashers {
        Some(hashers) => Application::from_parts_with_hashers(
            db.clone(),
            listener,
            settings,
            keys.clone(),
            Some(2),
            hashers,
        ),
        None => Application::from_parts(db.clone(), listener, settings, keys.clone(), Some(2)),
    }
    .expect("application");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {admin_token}").parse().expect("header"),
    );
    Some(TestApp {
        address,
        client: reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .expect("client"),
        anonymous: reqwest::Client::new(),
        keys,
        admin_id: admin,
        db,
        database_url: url,
        _storage: storage,
    })
}

/// Inserts a person directly (no password: tests issue their tokens).
pub fn insert_agent(db: &Database, name: &str, admin: bool) -> String {
    db.write(|conn| -> Result<_, commons_ledger::db::StorageError> {
        Ok(commons_ledger::db::agents::insert(
            conn,
            &NewAgent {
                kind: "person",
                name,
                email: None,
                password_hash: None,
                is_admin: admin,
                created_by: None,
            },
        )?)
    })
    .expect("agent")
    .id
    .into_string()
}

/// `url` with its database name replaced by `name`.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{}", &base[..host_end], name);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Creates a fresh database from a migrated template, so each test starts
/// from the current schema quickly. The template is named after a hash of the
/// PostgreSQL migrations, so runs share it until a migration changes.
fn migrations_digest() -> String {
    use sha2::{Digest, Sha256};
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&directory)
        .expect("migrations directory")
        .filter_map(Result::ok)
        .flat_map(|entry| {
            std::fs::read_dir(entry.path())
                .into_iter()
                .flatten()
                .filter_map(Result::ok)
        })
        .map(|entry| entry.path())
        .collect();
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update(file.to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&file).expect("migration file"));
    }
    hex::encode(&hasher.finalize()[..8])
}

fn create_postgres_database(admin_url: &str) -> String {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    static CREATE: Mutex<()> = Mutex::new(());
    let _serial = CREATE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut admin =
        PgConnection::establish(admin_url).expect("connect to the PostgreSQL test server");
    let template = TEMPLATE.get_or_init(|| {
        let name = format!("cl_template_{}", migrations_digest());
        // Templates of earlier migration sets are no longer used (one in use
        // by a test run of another checkout is not dropped: DROP refuses).
        let stale: Vec<String> = diesel::select(diesel::dsl::sql::<diesel::sql_types::Array<diesel::sql_types::Text>>(&format!(
            "(SELECT COALESCE(array_agg(datname::text), '{{}}') FROM pg_database WHERE datname LIKE 'cl\\_template\\_%' AND datname <> '{name}')"
        )))
        .get_result(&mut admin)
        .unwrap_or_default();
        for old in stale {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{old}\"")).execute(&mut admin);
        }
        prepare_template(&mut admin, admin_url, &name);
        name
    });
    let name = format!("cl_test_{}", uuid::Uuid::now_v7().simple());
    let create = format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"");
    if diesel::sql_query(&create).execute(&mut admin).is_err() {
        // A test run of another checkout (another migration set) may have
        // dropped it as stale meanwhile: make it again.
        prepare_template(&mut admin, admin_url, template);
        diesel::sql_query(&create)
            .execute(&mut admin)
            .expect("create test database");
    }
    name
}

/// Creates the template database `name` if it is missing, and migrates it.
fn prepare_template(admin: &mut PgConnection, admin_url: &str, name: &str) {
    let exists: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
        "(SELECT COUNT(*) FROM pg_database WHERE datname = '{name}')"
    )))
    .get_result(admin)
    .expect("look for the template");
    if exists == 0 {
        diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(admin)
            .expect("create template");
    }
    let db = Database::connect(
        &DatabaseUrl::parse(&replace_database(admin_url, name)).expect("url"),
        1,
    )
    .expect("template database");
    db.migrate().expect("migrate template");
}

impl TestApp {
    /// A fresh token for `agent_id` at its current token version.
    pub fn token_for(&self, agent_id: &str) -> String {
        let agent = self
            .db
            .read(|conn| -> Result<_, commons_ledger::db::StorageError> {
                Ok(commons_ledger::db::agents::find(conn, agent_id)?)
            })
            .expect("agent query")
            .expect("agent exists");
        self.keys
            .issue(agent_id, agent.token_version)
            .expect("token")
    }

    /// A new person who is a member of `project` with `role`, and their token.
    pub async fn member(&self, project: &str, role: &str) -> (String, String) {
        let id = insert_agent(&self.db, &format!("{role} of the project"), false);
        let response = self
            .post(
                &format!("/v1/projects/{project}/members"),
                &json!({"agent": id, "role": role}),
            )
            .await;
        assert_eq!(response.status(), 201, "adding a {role}");
        let token = self.token_for(&id);
        (id, token)
    }

    /// Sends a request as `token` (None: anonymous).
    pub async fn send_as(
        &self,
        token: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut request = self.anonymous.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("request")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_with_key(&self, path: &str, key: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn create_project(&self, currency: &str) -> String {
        let response = self
            .post(
                "/v1/projects",
                &json!({"name": "OpenAir Lyon", "currency": currency}),
            )
            .await;
        assert_eq!(response.status(), 201);
        json_of(response).await["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }

    pub async fn create_account(
        &self,
        project: &str,
        name: &str,
        currency: &str,
        non_negative: bool,
    ) {
        let response = self
            .post(
                &format!("/v1/projects/{project}/accounts"),
                &json!({"name": name, "currency": currency, "non_negative": non_negative}),
            )
            .await;
        assert_eq!(response.status(), 201, "creating account {name}");
    }

    pub async fn transfer(
        &self,
        project: &str,
        from: &str,
        to: &str,
        amount: &str,
        currency: &str,
    ) -> reqwest::Response {
        self.post(
            &format!("/v1/projects/{project}/transactions"),
            &transfer_body(from, to, amount, currency),
        )
        .await
    }

    /// Account name -> balance string, all pages.
    pub async fn balances(&self, project: &str) -> HashMap<String, String> {
        let mut balances = HashMap::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/projects/{project}/balances?limit=2&cursor={c}"),
                None => format!("/v1/projects/{project}/balances?limit=2"),
            };
            let page = json_of(self.get(&path).await).await;
            for item in page["items"].as_array().expect("items") {
                balances.insert(
                    item["account"].as_str().expect("account").to_owned(),
                    item["balance"].as_str().expect("balance").to_owned(),
                );
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return balances,
            }
        }
    }

    /// Number of transactions in the project's ledger.
    pub async fn transaction_count(&self, project: &str) -> usize {
        let page = json_of(
            self.get(&format!("/v1/projects/{project}/transactions?limit=1000"))
                .await,
        )
        .await;
        page["items"].as_array().expect("items").len()
    }
}

pub fn transfer_body(from: &str, to: &str, amount: &str, currency: &str) -> Value {
    json!({
        "kind": "transfer",
        "effective_date": "2026-03-01",
        "description": "test transfer",
        "postings": [{"from": from, "to": to, "amount": amount, "currency": currency}]
    })
}

/// The body of a 201, asserting the status (showing the body when it is not).
pub async fn created(response: reqwest::Response) -> Value {
    let status = response.status();
    let body = json_of(response).await;
    assert_eq!(status, 201, "{body}");
    body
}

pub async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.expect("JSON body")
}

/// Asserts a problem response: status, content type and stable code.
pub async fn assert_problem(
    response: reqwest::Response,
    status: u16,
    code: &str,
    rule: &str,
) -> Value {
    assert_eq!(response.status(), status, "{rule}: status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        content_type, "application/problem+json",
        "{rule}: content type"
    );
    let body = json_of(response).await;
    assert_eq!(body["code"], code, "{rule}: code in {body}");
    assert_eq!(body["status"], status, "{rule}: status field");
    body
}

/// Starts the application with the write pipeline's test hooks on (fault
/// injection by header, batches made to fill up) and batches of up to
/// `batch_max` requests, and returns the hooks. Returns None for PostgreSQL
/// when no server is configured.
pub async fn spawn_app_with_hooks(
    backend: Backend,
    batch_max: usize,
) -> Option<(TestApp, Arc<commons_ledger::write_pipeline::TestHooks>)> {
    let hooks = Arc::new(commons_ledger::write_pipeline::TestHooks::default());
    let keys =
        TokenKeys::new(TEST_JWT_SECRET, "commons-ledger", "commons-ledger", 3_600).expect("keys");
    let installed = hooks.clone();
    let app = spawn_app_with(backend, keys, move |settings| {
        settings.test_hooks = Some(installed);
        settings.group_commit_max = Some(batch_max);
    })
    .await?;
    Some((app, hooks))
}
