//! What every benchmark scenario (and the resilience tests, which include
//! this file) shares: a database to run against, the
//! real `commons-ledger` binary started on it, an administrator's token,
//! and the server's memory as the kernel reports it.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use commons_ledger::db::{Database, DatabaseUrl};
use serde_json::{Value, json};

pub const ADMIN_EMAIL: &str = "bench@example.org";
pub const ADMIN_PASSWORD: &str = "a benchmark passphrase";
const JWT_SECRET: &str = "benchmark-secret-benchmark-secret-benchmark-secret-0123456789";

/// Where a scenario's data lives: a fresh SQLite file in a temporary
/// directory, or a fresh PostgreSQL database (dropped at the end).
pub struct Store {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    admin_url: Option<(String, String)>,
}

impl Store {
    pub fn sqlite() -> Store {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        Store {
            url,
            _dir: Some(dir),
            admin_url: None,
        }
    }

    /// A copy of an existing SQLite database file.
    pub fn sqlite_copy(file: &std::path::Path) -> Store {
        let store = Store::sqlite();
        let target = store.url.trim_start_matches("sqlite://");
        std::fs::copy(file, target).expect("copy the database");
        store
    }

    /// A fresh PostgreSQL database loaded from a `pg_dump` file.
    pub fn postgres_restored(admin_url: &str, dump: &std::path::Path) -> Store {
        let store = Store::postgres(admin_url);
        let status = Command::new("psql")
            .args([store.url.as_str(), "-q", "-v", "ON_ERROR_STOP=1", "-f"])
            .arg(dump)
            .stdout(Stdio::null())
            .status()
            .expect("psql");
        assert!(status.success(), "restore {}", dump.display());
        store
    }

    /// A fresh database on the server of `admin_url` (a PostgreSQL URL).
    pub fn postgres(admin_url: &str) -> Store {
        let name = format!("cl_bench_{}", uuid::Uuid::now_v7().simple());
        psql(admin_url, &format!("CREATE DATABASE {name}"));
        // Same server and options (`?sslmode=...`), another database.
        let (address, query) = admin_url
            .split_once('?')
            .map_or((admin_url, ""), |(a, q)| (a, q));
        let base = address.rsplit_once('/').map_or(address, |(b, _)| b);
        let query = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        Store {
            url: format!("{base}/{name}{query}"),
            _dir: None,
            admin_url: Some((admin_url.to_owned(), name)),
        }
    }

    /// A database that exists already and is not this store's to drop (a
    /// replica of another store's).
    pub fn existing(url: &str) -> Store {
        Store {
            url: url.to_owned(),
            _dir: None,
            admin_url: None,
        }
    }

    pub fn backend(&self) -> &'static str {
        if self.url.starts_with("sqlite") {
            "SQLite"
        } else {
            "PostgreSQL"
        }
    }

    /// Migrates the database and creates the administrator.
    pub fn prepare(&self) -> Database {
        let url = DatabaseUrl::parse(&self.url).expect("database URL");
        let db = Database::connect(&url, 4).expect("connect");
        db.migrate().expect("migrate");
        commons_ledger::admin::create_admin(&db, ADMIN_EMAIL, "Instance Admin", ADMIN_PASSWORD)
            .expect("administrator");
        db
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.admin_url {
            psql(
                admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

fn psql(url: &str, sql: &str) {
    let status = Command::new("psql")
        .args([url, "-q", "-c", sql])
        .status()
        .expect("psql");
    assert!(status.success(), "psql {sql}");
}

/// The real binary, serving on a free port.
pub struct Server {
    child: Child,
    pub url: String,
    pub token: String,
    pub client: reqwest::Client,
}

impl Server {
    pub async fn start(store: &Store, extra_env: &[(&str, &str)]) -> Server {
        Server::start_binary(
            std::path::Path::new(env!("CARGO_BIN_EXE_commons-ledger")),
            store,
            extra_env,
        )
        .await
    }

    /// Like `start`, with another build of the binary (a baseline).
    pub async fn start_binary(
        binary: &std::path::Path,
        store: &Store,
        extra_env: &[(&str, &str)],
    ) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .env("COMMONS_LEDGER_DATABASE_URL", &store.url)
            .env("COMMONS_LEDGER_BIND", format!("127.0.0.1:{port}"))
            .env("COMMONS_LEDGER_JWT_SECRET", JWT_SECRET)
            .env("COMMONS_LEDGER_LOG", "warn")
            .env("COMMONS_LEDGER_TOKEN_LIFETIME_S", "86400")
            .stdout(Stdio::null());
        for (name, value) in extra_env {
            command.env(name, value);
        }
        let child = command.spawn().expect("start commons-ledger");
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .expect("client");
        let started = Instant::now();
        loop {
            let ready = client.get(format!("{url}/readyz")).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the server did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let login = client
            .post(format!("{url}/v1/auth/token"))
            .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
            .send()
            .await
            .expect("login");
        let body: Value = login.json().await.expect("token");
        let token = body["access_token"].as_str().expect("token").to_owned();
        Server {
            child,
            url,
            token,
            client,
        }
    }

    /// Peak resident memory of the server so far, in KiB (VmHWM).
    pub fn peak_rss_kib(&self) -> u64 {
        proc_status_kib(self.child.id(), "VmHWM:")
    }

    /// Makes the server's peak resident memory (VmHWM) its resident memory
    /// now, so that a later [`Server::peak_rss_kib`] is the peak of what
    /// runs in between (Linux's `clear_refs`, value 5).
    pub fn reset_peak_rss(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5")
            .expect("reset the server's peak resident memory");
    }

    /// Resident memory of the server now, in KiB (VmRSS).
    pub fn rss_kib(&self) -> u64 {
        proc_status_kib(self.child.id(), "VmRSS:")
    }

    /// A new project in EUR named `name`; its id.
    pub async fn project(&self, name: &str) -> String {
        self.post("/v1/projects", &json!({"name": name, "currency": "EUR"}))
            .await["id"]
            .as_str()
            .expect("project")
            .to_owned()
    }

    /// The answer to `GET path` as the administrator, as JSON.
    pub async fn get(&self, path: &str) -> Value {
        self.client
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// The ledger verification report of `project`.
    pub async fn verification(&self, project: &str) -> Value {
        self.get(&format!("/v1/projects/{project}/ledger/verification"))
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Value {
        let response = self
            .client
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .expect("request");
        let status = response.status();
        let body: Value = response.json().await.expect("JSON");
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    /// Kills the server with SIGKILL, as a crash or power cut would.
    pub fn crash(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the server with SIGTERM and waits for it.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The multi-threaded runtime a benchmark drives the server from.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The results file, opened for appending, when one is named.
pub fn results_file(path: Option<&std::path::Path>) -> Option<std::fs::File> {
    path.map(|path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("results file")
    })
}

/// Per-mille precision without floating point: `123.4` from 1234 tenths.
pub fn tenths(numerator: u128, denominator: u128) -> String {
    let scaled = numerator * 10 / denominator.max(1);
    format!("{}.{}", scaled / 10, scaled % 10)
}

/// Prints a line and appends it to the results file, if one is set.
pub fn report(results: &mut Option<std::fs::File>, line: &str) {
    println!("{line}");
    if let Some(file) = results {
        writeln!(file, "{line}").expect("write results");
    }
}
