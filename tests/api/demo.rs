//! `commons-ledger demo`: the story loaded into a fresh database, the
//! project public, the address and everyone's sign-in details printed; the
//! time contributor earned 1,357.24 EUR; a database that already holds the
//! story is refused, unchanged.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_commons-ledger");

fn demo(database: &std::path::Path) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("COMMONS_LEDGER_LOG", "error")
        .args(["demo", "--bind", "127.0.0.1:0", "--database"])
        .arg(database);
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_loads_the_story_and_serves_it() {
    let directory = tempfile::tempdir().expect("directory");
    let database = directory.path().join("demo.db");
    let mut child = demo(&database)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    // Reads what the demo prints up to the line saying it serves.
    let printed = tokio::task::spawn_blocking(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("line");
            let done = line.starts_with("Serving until");
            lines.push(line);
            if done {
                break;
            }
        }
        lines
    })
    .await
    .expect("printed");
    let field = |needle: &str| {
        printed
            .iter()
            .find(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("{needle} in {printed:#?}"))
            .split_whitespace()
            .last()
            .expect("last word")
            .to_owned()
    };
    let public = field("Public books:");
    let address = public.split("/p/").next().expect("address").to_owned();
    for email in [
        "odile@openair-lyon.org",
        "theo@openair-lyon.org",
        "sacha@openair-lyon.org",
        "ines@openair-lyon.org",
        "malo@openair-lyon.org",
        "grants@fondation-horizon.org",
    ] {
        assert!(
            field(email).starts_with("demo-"),
            "{email}'s password is printed"
        );
    }
    let client = reqwest::Client::new();
    let token: Value = client
        .post(format!("{address}/v1/auth/token"))
        .json(&json!({"email": "camille@openair-lyon.org", "password": field("camille@openair-lyon.org")}))
        .send()
        .await
        .expect("sign in")
        .json()
        .await
        .expect("token");
    let account: Value = client
        .get(format!("{address}/v1/me/value-account"))
        .bearer_auth(token["access_token"].as_str().expect("token"))
        .send()
        .await
        .expect("account")
        .json()
        .await
        .expect("json");
    let money = &account["projects"][0]["money"][0];
    assert_eq!(
        money["distributions_earned"], "1357.24",
        "the time contributor earned 1,357.24"
    );
    let page = client
        .get(&public)
        .header("accept-language", "fr")
        .send()
        .await
        .expect("public page");
    assert_eq!(page.status(), 200, "the project is public");
    let page = page.text().await.expect("page");
    assert!(
        page.contains("1\u{202F}357,24\u{A0}€"),
        "the public page shows the line"
    );
    child.kill().expect("stop the demo");
    child.wait().expect("stopped");

    let again = demo(&database).output().expect("second run");
    assert!(
        !again.status.success(),
        "a database holding the story is refused"
    );
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(said.contains("already holds the demo story"), "{said}");
}
