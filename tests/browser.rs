//! The PRODUCT.md story through the pages, in a real browser: Debian's
//! headless Chromium driven over WebDriver (chromedriver) by `fantoccini`.
//! The service is the `commons-ledger demo` binary on a fresh SQLite file
//! (the story loaded through the API); the browser then signs in as each
//! person and plays the rest through the pages: the contributor logs work,
//! the treasurer reviews it and drafts a distribution, the second treasurer
//! approves it, the treasurer executes it, the contributor reads their
//! value account, the funder downloads the grant report. Every figure
//! checked on a page is compared with the API's; axe-core (vendored under
//! tests/browser/vendor/) runs on every page and must find no serious or
//! critical violation; a screenshot of every page is kept under
//! `target/tmp/screenshots/`.
//!
//! It runs when `COMMONS_LEDGER_TEST_BROWSER` is set (as in CI), and then
//! fails without chromedriver on the PATH; without the variable the test
//! runner reports it as ignored, never as passed.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_commons-ledger");
const AXE: &str = include_str!("browser/vendor/axe-core-4.14.1/axe.min.js");
/// How many times chromedriver's port is tried while it starts, 100 ms apart.
const DRIVER_START_ATTEMPTS: u32 = 100;

/// A child process stopped when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

/// Starts chromedriver on a free port; `None` when it is not installed.
fn chromedriver() -> Option<(Running, u16)> {
    let program = on_path("chromedriver")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let child = Command::new(program)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let running = Running(child);
    for _ in 0..DRIVER_START_ATTEMPTS {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((running, port));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("chromedriver did not listen on port {port}");
}

/// The demo, running: its address, project and everyone's password.
struct Demo {
    _process: Running,
    address: String,
    project: String,
    passwords: HashMap<String, String>,
    _directory: tempfile::TempDir,
}

fn start_demo() -> Demo {
    let directory = tempfile::tempdir().expect("directory");
    let mut child = Command::new(BINARY)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("COMMONS_LEDGER_LOG", "error")
        .args(["demo", "--bind", "127.0.0.1:0", "--database"])
        .arg(directory.path().join("demo.db"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("demo starts");
    let stdout = child.stdout.take().expect("stdout");
    let process = Running(child);
    let mut public = String::new();
    let mut passwords = HashMap::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        let words: Vec<&str> = line.split_whitespace().collect();
        if line.contains("Public books:") {
            public = words.last().expect("address").to_string();
        }
        if let Some(email) = words.iter().find(|w| w.contains('@')) {
            passwords.insert(
                email.to_string(),
                words.last().expect("password").to_string(),
            );
        }
        if line.starts_with("Serving until") {
            break;
        }
    }
    let (address, project) = public.split_once("/p/").expect("the public address");
    Demo {
        _process: process,
        address: address.to_owned(),
        project: project.to_owned(),
        passwords,
        _directory: directory,
    }
}

/// The browser, the pages it has shown and what it checks on each.
struct Browser {
    client: Client,
    address: String,
    shots: PathBuf,
    shown: u32,
}

impl Browser {
    /// Opens `path`, then checks and keeps the page.
    async fn open(&mut self, path: &str, name: &str) -> String {
        self.client
            .goto(&format!("{}{path}", self.address))
            .await
            .expect("goto");
        self.looked_at(name).await
    }

    /// The page now shown: a screenshot, axe's verdict, its text.
    async fn looked_at(&mut self, name: &str) -> String {
        self.shown += 1;
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(
            self.shots.join(format!("{:02}-{name}.png", self.shown)),
            png,
        )
        .expect("save");
        self.client.execute(AXE, vec![]).await.expect("axe loads");
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']})
                   .then(r => done(r.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.id + ': ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
                   .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .expect("axe runs");
        assert_eq!(
            found,
            json!([]),
            "no serious or critical accessibility violation on {name}"
        );
        let text = self
            .client
            .find(Locator::Css("body"))
            .await
            .expect("body")
            .text()
            .await
            .expect("text");
        assert!(!text.is_empty(), "{name} shows something");
        text
    }

    async fn set(&self, id: &str, value: &str) {
        self.client
            .execute(
                "document.getElementById(arguments[0]).value = arguments[1];",
                vec![json!(id), json!(value)],
            )
            .await
            .expect("set a field");
    }

    /// Clicks what `css` finds and waits for the page it leads to: the
    /// current document is marked first, and the wait ends when a document
    /// without the mark is shown.
    async fn click(&self, css: &str) {
        self.client
            .execute("document.documentElement.dataset.left = 'yes';", vec![])
            .await
            .expect("mark the page");
        self.client
            .find(Locator::Css(css))
            .await
            .expect(css)
            .click()
            .await
            .expect("click");
        self.client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("html:not([data-left])"))
            .await
            .expect("the next page");
    }

    /// Signs in as `email`, with the password the demo printed for them.
    async fn sign_in_as(&mut self, demo: &Demo, email: &str) {
        let password = &demo.passwords[email];
        self.open("/sign-in", "sign-in").await;
        self.client
            .find(Locator::Id("email"))
            .await
            .expect("email")
            .send_keys(email)
            .await
            .expect("type");
        self.client
            .find(Locator::Id("password"))
            .await
            .expect("password")
            .send_keys(password)
            .await
            .expect("type");
        self.click("main form button[type=submit]").await;
        let url = self.client.current_url().await.expect("url");
        assert_eq!(url.path(), "/me", "{email} is signed in");
    }

    async fn sign_out(&self) {
        self.click("form[action='/sign-out'] button").await;
    }

    async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("url")
            .path()
            .to_owned()
    }
}

/// An API token for each of `emails`, signed in once each: the sign-in
/// limit per account (5 a minute) also counts the demo's and the pages'.
async fn tokens(demo: &Demo, emails: &[&str]) -> HashMap<String, String> {
    let mut tokens = HashMap::new();
    for email in emails {
        let token: Value = reqwest::Client::new()
            .post(format!("{}/v1/auth/token", demo.address))
            .json(&json!({"email": email, "password": demo.passwords[*email]}))
            .send()
            .await
            .expect("sign in")
            .json()
            .await
            .expect("token");
        let token = token["access_token"].as_str().expect("token").to_owned();
        tokens.insert((*email).to_owned(), token);
    }
    tokens
}

/// Reads the API with `token`.
async fn api(demo: &Demo, token: &str, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}{path}", demo.address))
        .bearer_auth(token)
        .send()
        .await
        .expect("read")
        .json()
        .await
        .expect("json")
}

/// `1357.24` as the English pages write euros: `€1,357.24`.
fn euros(amount: &str) -> String {
    let (whole, cents) = amount.split_once('.').expect("cents");
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("€{grouped}.{cents}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(browser_tests),
    ignore = "COMMONS_LEDGER_TEST_BROWSER is not set (needs chromium and chromedriver)"
)]
async fn the_story_through_the_pages() {
    let Some((_driver, port)) = chromedriver() else {
        panic!("chromedriver is not on the PATH, and COMMONS_LEDGER_TEST_BROWSER is set");
    };
    let demo = start_demo();
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({"args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1400", "--lang=en-GB"]}),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a browser session");
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).expect("screenshots directory");
    let mut browser = Browser {
        client,
        address: demo.address.clone(),
        shots,
        shown: 0,
    };
    let project = demo.project.clone();
    let base = format!("/v1/projects/{project}");
    let (theo, camille, funder) = (
        "theo@openair-lyon.org",
        "camille@openair-lyon.org",
        "grants@fondation-horizon.org",
    );
    let token = tokens(&demo, &[theo, camille, funder]).await;

    // The public page, anonymous: the story's distribution, as the API has it.
    let home = browser.open("/", "home").await;
    assert!(
        home.contains("OpenAir Lyon"),
        "the home page lists the public project"
    );
    let public = browser.open(&format!("/p/{project}"), "public").await;
    let runs = api(&demo, &token[theo], &format!("{base}/distributions")).await;
    for line in runs["items"][0]["lines"].as_array().expect("lines") {
        let amount = euros(line["amount"].as_str().expect("amount"));
        assert!(public.contains(&amount), "the public page shows {amount}");
    }
    assert!(
        !public.contains("Camille"),
        "the demo shows contributors by their initials, not their names"
    );

    // The time contributor: value account, then new work logged.
    browser.sign_in_as(&demo, "camille@openair-lyon.org").await;
    let account = browser.looked_at("value-account").await;
    assert!(account.contains("€1,357.24"), "Camille earned €1,357.24");
    assert!(account.contains("1357.238606 exactly"), "and sees why");
    browser
        .open(
            &format!("/projects/{project}/contributions"),
            "contributions",
        )
        .await;
    browser.set("log-date", "2026-03-20").await;
    browser.set("log-quantity", "4").await;
    browser.set("log-description", "calibration workshop").await;
    browser.click("#log button[type=submit]").await;
    let logged = browser.looked_at("contribution-logged").await;
    assert!(
        logged.contains("calibration workshop") && logged.contains("€100.00"),
        "4 h at €25.00, pending"
    );
    browser.sign_out().await;

    // The treasurer reviews it, then drafts a distribution.
    browser.sign_in_as(&demo, "theo@openair-lyon.org").await;
    let queue = browser
        .open(&format!("/projects/{project}/review"), "review-queue")
        .await;
    assert!(
        queue.contains("Camille") && queue.contains("€100.00"),
        "the queue shows the work"
    );
    browser.click("form.inline button[type=submit]").await;
    let empty = browser.looked_at("review-done").await;
    assert!(
        !empty.contains("calibration workshop"),
        "approved, it leaves the queue"
    );
    browser
        .open(
            &format!("/projects/{project}/distributions"),
            "distributions",
        )
        .await;
    let grant = api(&demo, &token[theo], &format!("{base}/grants")).await["items"][0]["id"]
        .as_str()
        .expect("grant")
        .to_owned();
    browser.set("draft-grant", &grant).await;
    browser.set("draft-amount", "100.00").await;
    browser.set("draft-period_from", "2026-03-01").await;
    browser.set("draft-period_to", "2026-03-31").await;
    browser.click("#draft button[type=submit]").await;
    let dry_run = browser.looked_at("dry-run").await;
    let run_path = browser.path().await;
    let run_id = run_path.rsplit('/').next().expect("run id").to_owned();
    let run = api(
        &demo,
        &token[theo],
        &format!("{base}/distributions/{run_id}"),
    )
    .await;
    assert_eq!(run["status"], "draft");
    for line in run["lines"].as_array().expect("lines") {
        let amount = euros(line["amount"].as_str().expect("amount"));
        assert!(
            dry_run.contains(&amount),
            "the dry run shows {amount}, as the API"
        );
        assert!(
            dry_run.contains(line["explanation"].as_str().expect("why")),
            "with its explanation"
        );
    }
    browser.sign_out().await;

    // The second treasurer approves; the treasurer executes.
    browser.sign_in_as(&demo, "sacha@openair-lyon.org").await;
    browser.open(&run_path, "run-to-approve").await;
    browser.click("form.inline button[type=submit]").await;
    browser.looked_at("run-approved").await;
    browser.sign_out().await;
    browser.sign_in_as(&demo, "theo@openair-lyon.org").await;
    browser.open(&run_path, "run-to-execute").await;
    browser.set("execute-effective_date", "2026-03-31").await;
    browser.click("#execute button[type=submit]").await;
    let executed = browser.looked_at("run-executed").await;
    assert!(executed.contains("executed"), "the run is executed");
    browser.sign_out().await;

    // The contributor's value account equals the API's.
    browser.sign_in_as(&demo, "camille@openair-lyon.org").await;
    let account = browser.looked_at("value-account-after").await;
    let value_account = api(&demo, &token[camille], "/v1/me/value-account").await;
    let money = &value_account["projects"][0]["money"][0];
    for field in ["distributions_earned", "payouts_received", "balance_owed"] {
        let amount = euros(money[field].as_str().expect("figure"));
        assert!(
            account.contains(&amount),
            "the value account's {field}, {amount}, as the API"
        );
    }
    let french = browser.open("/me?lang=fr", "value-account-fr").await;
    assert!(french.contains("Gagné"), "the page in French");
    browser.open("/me?lang=en", "value-account-en").await;
    browser.sign_out().await;

    // The funder reads the grants and downloads the grant report.
    browser
        .sign_in_as(&demo, "grants@fondation-horizon.org")
        .await;
    let grants = browser
        .open(&format!("/projects/{project}/grants"), "grants")
        .await;
    let figures = api(&demo, &token[funder], &format!("{base}/grants/{grant}")).await;
    for field in ["received", "spent", "distributed", "reserved", "remaining"] {
        let amount = euros(figures[field].as_str().expect("figure"));
        assert!(
            grants.contains(&amount),
            "the grant's {field}, {amount}, as the API"
        );
    }
    let report = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0]).then(r => r.text().then(t => done([r.status, t]))).catch(e => done([0, String(e)]));",
            vec![json!(format!("/projects/{project}/reports/grants/{grant}.csv"))],
        )
        .await
        .expect("download");
    assert_eq!(
        report[0], 200,
        "the grant report downloads with the session"
    );
    let csv = report[1].as_str().expect("csv");
    assert!(
        csv.contains("FH-2026-017"),
        "the report is the grant's: {csv}"
    );
    browser.sign_out().await;

    // The owner chooses how the public page names contributors.
    browser.sign_in_as(&demo, "odile@openair-lyon.org").await;
    browser
        .open(&format!("/projects/{project}/settings"), "settings")
        .await;
    browser.set("settings-contributor_names", "names").await;
    browser.click("#settings button[type=submit]").await;
    browser.looked_at("settings-changed").await;
    browser.sign_out().await;
    let named = browser.open(&format!("/p/{project}"), "public-named").await;
    assert!(
        named.contains("Camille"),
        "the public page names Camille once the owner chose names"
    );
    browser.client.close().await.expect("close");
}
