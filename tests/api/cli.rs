//! The binary itself: bootstrapping the first administrator from standard
//! input, the generated signing secret, refusing weak configuration, and
//! keeping passwords out of logs and out of the database.

use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Output, Stdio};

use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_commons-ledger");
const PASSWORD: &str = "correct horse battery staple";
const WRONG_PASSWORD: &str = "Wrong-Password-Zebra-42";

fn command(database_url: &str) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("COMMONS_LEDGER_DATABASE_URL", database_url)
        .env("COMMONS_LEDGER_LOG", "trace");
    command
}

fn create_admin(database_url: &str, email: &str, password: &str) -> Output {
    create_admin_with(
        database_url,
        &["--email", email, "--name", "Root"],
        password,
    )
}

/// `admin create` with the given flags, the password on standard input.
fn create_admin_with(database_url: &str, flags: &[&str], password: &str) -> Output {
    let mut child = command(database_url)
        .args(["admin", "create"])
        .args(flags)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write");
    child.wait_with_output().expect("output")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

/// Starts `serve` and waits until it answers (bounded).
async fn serve(database_url: &str, port: u16, log: &std::path::Path) -> Child {
    let log_file = std::fs::File::create(log).expect("log file");
    let mut child = command(database_url)
        .env("COMMONS_LEDGER_BIND", format!("127.0.0.1:{port}"))
        .stdout(log_file.try_clone().expect("clone"))
        .stderr(log_file)
        .spawn()
        .expect("spawn");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return child;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!(
        "the server did not come up: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

async fn sign_in(port: u16, email: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/v1/auth/token"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_administrator_signs_in_with_a_generated_secret_and_no_password_leaks() {
    let dir = tempfile::tempdir().expect("dir");
    let database_url = format!("sqlite://{}", dir.path().join("data/ledger.db").display());

    let nameless = create_admin_with(&database_url, &["--email", "root@example.org"], PASSWORD);
    assert!(
        !nameless.status.success() && String::from_utf8_lossy(&nameless.stderr).contains("--name"),
        "a display name is required, the email is never used as one: {}",
        String::from_utf8_lossy(&nameless.stderr)
    );
    let blank = create_admin_with(
        &database_url,
        &["--email", "root@example.org", "--name", "  "],
        PASSWORD,
    );
    assert!(!blank.status.success(), "a blank name is refused");
    let created = create_admin(&database_url, "root@example.org", PASSWORD);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(String::from_utf8_lossy(&created.stdout).contains("created administrator"));
    let again = create_admin(&database_url, "ROOT@example.org", PASSWORD);
    assert!(
        !again.status.success(),
        "a second administrator with the same email is refused"
    );
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let weak = create_admin(&database_url, "other@example.org", "short");
    assert!(!weak.status.success(), "the password policy applies");

    let port = free_port();
    let log = dir.path().join("server.log");
    let mut server = serve(&database_url, port, &log).await;
    let secret_file = dir.path().join("data/jwt-secret");
    let mode = std::fs::metadata(&secret_file)
        .expect("generated secret")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "only the owner may read the secret");
    assert_eq!(
        std::fs::read_to_string(&secret_file).expect("secret").len(),
        128,
        "64 random bytes, hex"
    );

    assert_eq!(
        sign_in(port, "root@example.org", WRONG_PASSWORD)
            .await
            .status(),
        401
    );
    let token: Value = sign_in(port, "root@example.org", PASSWORD)
        .await
        .json()
        .await
        .expect("token");
    let access = token["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();
    let me = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/v1/me"))
        .bearer_auth(&access)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.expect("me");
    assert_eq!(me["agent"]["name"], "Root", "the name given, not the email");
    server.kill().expect("stop");
    server.wait().expect("wait");

    // The secret is kept: a token survives a restart.
    let port = free_port();
    let mut server = serve(&database_url, port, &dir.path().join("server-2.log")).await;
    let me = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/v1/me"))
        .bearer_auth(&access)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), 200, "the same secret after a restart");
    server.kill().expect("stop");
    server.wait().expect("wait");

    let logs = std::fs::read_to_string(&log).expect("log");
    assert!(logs.contains("/v1/auth/token"), "the log saw the sign-ins");
    for password in [PASSWORD, WRONG_PASSWORD] {
        assert!(!logs.contains(password), "no password in the logs");
    }
    for entry in std::fs::read_dir(dir.path().join("data")).expect("data dir") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("file");
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(PASSWORD) && !text.contains(WRONG_PASSWORD),
            "no password stored in clear"
        );
    }
}

#[test]
fn weak_or_missing_secrets_are_refused_at_start() {
    let dir = tempfile::tempdir().expect("dir");
    let database_url = format!("sqlite://{}", dir.path().join("ledger.db").display());
    let output = command(&database_url)
        .env("COMMONS_LEDGER_JWT_SECRET", "too-short-a-secret")
        .env("COMMONS_LEDGER_BIND", format!("127.0.0.1:{}", free_port()))
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("at least 32 bytes"),
        "the message says why: {stderr}"
    );
    assert!(
        !dir.path().join("ledger.db").exists(),
        "refused before touching the database"
    );

    let output = command("postgres://nobody@127.0.0.1:1/none")
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("must be set when the database is PostgreSQL"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_server_gracefully() {
    let dir = tempfile::tempdir().expect("dir");
    let database_url = format!("sqlite://{}", dir.path().join("ledger.db").display());
    let port = free_port();
    let mut server = serve(&database_url, port, &dir.path().join("server.log")).await;
    let pid = server.id().to_string();
    let signal = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(signal.success());
    let status = server.wait().expect("wait");
    assert!(
        status.success(),
        "SIGTERM ends the process cleanly: {status:?}"
    );
    let logs = std::fs::read_to_string(dir.path().join("server.log")).expect("log");
    assert!(
        logs.contains("SIGTERM") || logs.to_lowercase().contains("graceful"),
        "actix logged the graceful stop: {logs}"
    );
}
