//! Signed report bundles (#18 item 5): after the PRODUCT.md story, a
//! funder's auditor downloads one bundle; each of its files is byte for
//! byte the report's own download, the manifest names the ledger's head and
//! the published key, the library's check accepts it, and altering any one
//! byte of any file makes the check fail. The command line checks it
//! without a server, and so do `sha256sum` and `openssl` as docs/reports.md
//! says.

use std::process::Command;

use reqwest::Method;
use serde_json::Value;

use commons_ledger::domain::bundle::{self, InstanceKey};

use crate::funder_reports::{Story, download, play_story};
use crate::helpers::{TestApp, json_of};
use crate::on_both_backends;

on_both_backends!(
    a_bundle_holds_the_downloads_signed,
    a_bundle_verifies_offline_with_the_command_line,
    a_bundle_verifies_with_sha256sum_and_openssl,
    bundle_queries_are_checked,
    the_database_keeps_the_signing_key
);

const BINARY: &str = env!("CARGO_BIN_EXE_commons-ledger");
const OPENSSL_VARIABLE: &str = "COMMONS_LEDGER_TEST_OPENSSL";
const FILE_NAMES: [&str; 7] = [
    "grant.csv",
    "journal.csv",
    "journal.hledger",
    "events.jsonl",
    "manifest.txt",
    "manifest.sig",
    "public-key.pem",
];

/// Downloads a bundle as the story's auditor: its file name and bytes.
async fn download_bundle(app: &TestApp, story: &Story, query: &str) -> (String, Vec<u8>) {
    let response = app
        .send_as(
            Some(&story.auditor),
            Method::GET,
            &format!("{}/reports/bundle?grant={}{query}", story.base, story.grant),
            None,
        )
        .await;
    assert_eq!(response.status(), 200, "bundle{query}");
    assert_eq!(response.headers()["content-type"], "application/x-tar");
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .expect("disposition")
        .to_owned();
    let bytes = response.bytes().await.expect("body").to_vec();
    (disposition, bytes)
}

/// The archive's files, read with the tar crate itself (not the service's
/// reader), in order.
fn untar(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut reader = tar::Archive::new(archive);
    reader
        .entries()
        .expect("entries")
        .map(|entry| {
            let mut entry = entry.expect("entry");
            assert_eq!(entry.header().entry_type(), tar::EntryType::Regular);
            let name = entry.path().expect("path").to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).expect("read");
            (name, bytes)
        })
        .collect()
}

fn file<'a>(files: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    &files
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} in the bundle"))
        .1
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("UTF-8")
}

/// The published key: `/v1/signing-key`, asked without a token.
async fn published_key(app: &TestApp) -> Value {
    let response = app
        .anonymous
        .get(format!("{}/v1/signing-key", app.address))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    json_of(response).await
}

/// The value of the manifest's `# key: value` line.
fn fact<'a>(manifest: &'a str, key: &str) -> &'a str {
    manifest
        .lines()
        .find_map(|line| line.strip_prefix(&format!("# {key}: ")))
        .unwrap_or_else(|| panic!("`# {key}:` in\n{manifest}"))
}

async fn a_bundle_holds_the_downloads_signed(app: &TestApp) {
    let story = play_story(app).await;
    let (disposition, archive) = download_bundle(app, &story, "").await;
    assert_eq!(
        disposition,
        "attachment; filename=\"openair-lyon-bundle-fh-2026-017-2026-01-01_2026-12-31.tar\"",
        "project, grant reference and the grant's period"
    );
    let files = untar(&archive);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, FILE_NAMES, "one folder-less list of files");

    // Each file is its report's own download for the grant's period.
    let period = "from=2026-01-01&to=2026-12-31";
    let grant = &story.grant;
    for (name, path, part) in [
        (
            "grant.csv",
            format!("grants/{grant}.csv?{period}"),
            "grant-fh-2026-017",
        ),
        (
            "journal.csv",
            format!("journal.csv?grant={grant}&{period}"),
            "journal-pool-grant",
        ),
        ("journal.hledger", "journal.hledger".to_owned(), "journal"),
    ] {
        let own = download(app, &story, &path, part).await;
        assert_eq!(
            text(file(&files, name)),
            own,
            "{name} is byte for byte {path}"
        );
    }
    assert!(
        text(file(&files, "grant.csv")).contains("\nin_kind,"),
        "the story's in-kind is in the bundle"
    );

    // The manifest: sha256sum lines for the content files, the period, the
    // ledger's head as verification reports it, and the published key.
    let manifest = text(file(&files, "manifest.txt"));
    for name in &FILE_NAMES[..4] {
        assert!(
            manifest
                .lines()
                .any(|l| l.len() == 66 + name.len() && l.ends_with(&format!("  {name}"))),
            "{name} listed"
        );
    }
    let project = story.base.trim_start_matches("/v1/projects/");
    assert_eq!(fact(manifest, "project"), project);
    assert_eq!(fact(manifest, "grant"), story.grant);
    assert_eq!(fact(manifest, "from"), "2026-01-01");
    assert_eq!(fact(manifest, "to"), "2026-12-31");
    let verification = json_of(
        app.get(&format!("{}/ledger/verification", story.base))
            .await,
    )
    .await;
    // The audit trail's head, and its events of the period: the story's
    // every change, each line as `GET .../events` shows it.
    assert_eq!(
        fact(manifest, "events"),
        format!(
            "sequence {} hash {}",
            verification["events_head_sequence"],
            verification["events_head_hash"].as_str().expect("hash")
        )
    );
    let listed = json_of(app.get(&format!("{}/events?limit=1000", story.base)).await).await;
    let in_bundle: Vec<Value> = text(file(&files, "events.jsonl"))
        .lines()
        .map(|line| serde_json::from_str(line).expect("an event a line"))
        .collect();
    assert_eq!(
        Value::from(in_bundle),
        listed["items"],
        "the events of the period"
    );
    assert_eq!(
        fact(manifest, "ledger"),
        format!(
            "sequence {} hash {}",
            verification["head_sequence"],
            verification["head_hash"].as_str().expect("hash")
        )
    );
    let key = published_key(app).await;
    assert_eq!(key["algorithm"], "Ed25519");
    assert_eq!(text(file(&files, "public-key.pem")), key["public_key_pem"]);
    assert_eq!(fact(manifest, "key_id"), key["key_id"]);
    let stored = commons_ledger::ops::signing_key::instance_key(&app.db, None).expect("stored key");
    assert_eq!(
        stored.key_id(),
        key["key_id"],
        "the key kept in the database, read again"
    );

    // The library's check accepts it, with the published key too, and
    // refuses it against another key.
    let published = key["public_key_pem"].as_str().expect("pem");
    let verified = bundle::verify_archive(&archive, Some(published)).expect("the bundle verifies");
    assert_eq!(verified.files, FILE_NAMES[..4]);
    let other = InstanceKey::from_secret(&[7; 32]).expect("key");
    assert!(matches!(
        bundle::verify_archive(&archive, Some(other.public_key_pem())),
        Err(bundle::BundleError::UnexpectedKey { .. })
    ));

    // Any one byte altered, in any file (the manifest and its signature
    // included), and the check fails.
    for (index, (name, bytes)) in files.iter().enumerate() {
        assert!(!bytes.is_empty(), "{name}");
        for position in 0..bytes.len() {
            let mut altered = files.clone();
            altered[index].1[position] ^= 0x20;
            assert!(
                bundle::verify(&altered, None).is_err(),
                "{name}: byte {position} altered and the bundle still verifies"
            );
        }
    }
    // A file left out, or one added, fails too.
    assert!(bundle::verify(&files[1..], None).is_err());
    let mut added = files.clone();
    added.push(("notes.txt".to_owned(), b"added later".to_vec()));
    assert_eq!(
        bundle::verify(&added, None),
        Err(bundle::BundleError::UnlistedFile("notes.txt".to_owned()))
    );

    // A narrower period: the files are the downloads for that period.
    let (disposition, archive) =
        download_bundle(app, &story, "&from=2026-03-01&to=2026-03-31").await;
    assert!(
        disposition.ends_with("-2026-03-01_2026-03-31.tar\""),
        "{disposition}"
    );
    let files = untar(&archive);
    let period = "from=2026-03-01&to=2026-03-31";
    let own = download(
        app,
        &story,
        &format!("grants/{grant}.csv?{period}"),
        "grant",
    )
    .await;
    assert_eq!(text(file(&files, "grant.csv")), own);
    assert!(
        own.contains("\nopening,"),
        "a period with an opening balance"
    );
    let own = download(
        app,
        &story,
        &format!("journal.csv?grant={grant}&{period}"),
        "journal",
    )
    .await;
    assert_eq!(text(file(&files, "journal.csv")), own);
    assert!(
        !own.contains(",2026-02-01,"),
        "the grant's arrival lies before the period"
    );
    bundle::verify_archive(&archive, Some(published)).expect("the narrower bundle verifies");
}

/// The bundle's archive written to a temporary folder as `bundle.tar`.
async fn bundle_on_disk(app: &TestApp) -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>) {
    let story = play_story(app).await;
    let (_, archive) = download_bundle(app, &story, "").await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("bundle.tar");
    std::fs::write(&path, &archive).expect("write");
    (dir, path, archive)
}

fn run(command: &mut Command) -> (bool, String, String) {
    let output = command.output().expect("run");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn cli(database_url: &str) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("COMMONS_LEDGER_DATABASE_URL", database_url)
        .env("COMMONS_LEDGER_LOG", "warn");
    command
}

async fn a_bundle_verifies_offline_with_the_command_line(app: &TestApp) {
    let (dir, path, archive) = bundle_on_disk(app).await;
    // `signing-key` prints the key the service publishes, read from the database.
    let key = published_key(app).await;
    let (ok, printed, stderr) = run(cli(&app.database_url).arg("signing-key"));
    assert!(ok, "{stderr}");
    assert_eq!(printed, key["public_key_pem"].as_str().expect("pem"));
    let published = dir.path().join("published.pem");
    std::fs::write(&published, &printed).expect("write");

    // No server is needed: the database URL points nowhere.
    let offline = "sqlite:///nonexistent/commons-ledger.db";
    let (ok, stdout, stderr) = run(cli(offline).arg("verify-bundle").arg(&path));
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.starts_with("ok "), "{stdout}");
    assert!(stdout.contains("4 file(s)"), "{stdout}");
    let (ok, stdout, stderr) = run(cli(offline)
        .arg("verify-bundle")
        .arg(&path)
        .arg("--public-key")
        .arg(&published));
    assert!(ok, "{stdout}{stderr}");

    // Another key than the published one.
    let other_key = dir.path().join("other.pem");
    let other = InstanceKey::from_secret(&[3; 32]).expect("key");
    std::fs::write(&other_key, other.public_key_pem()).expect("write");
    let (ok, _, stderr) = run(cli(offline)
        .arg("verify-bundle")
        .arg(&path)
        .arg("--public-key")
        .arg(&other_key));
    assert!(!ok);
    assert!(stderr.contains("not the expected key"), "{stderr}");

    // One byte of grant.csv's content altered inside the archive.
    let files = untar(&archive);
    let grant_csv = file(&files, "grant.csv");
    let at = archive
        .windows(grant_csv.len())
        .position(|w| w == grant_csv)
        .expect("grant.csv's bytes in the archive")
        + grant_csv.len() / 2;
    let mut altered = archive.clone();
    altered[at] ^= 0x01;
    let altered_path = dir.path().join("altered.tar");
    std::fs::write(&altered_path, &altered).expect("write");
    let (ok, stdout, stderr) = run(cli(offline).arg("verify-bundle").arg(&altered_path));
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("FAILED") && stderr.contains("`grant.csv` does not match its SHA-256"),
        "{stderr}"
    );

    // `signing-key` with a key file prints that key's public half.
    let key_file = dir.path().join("signing.pem");
    let from_file = InstanceKey::from_secret(&[5; 32]).expect("key");
    std::fs::write(&key_file, from_file.to_pkcs8_pem().expect("pem")).expect("write");
    let (ok, printed, stderr) = run(cli(&app.database_url)
        .arg("signing-key")
        .arg("--signing-key-file")
        .arg(&key_file));
    assert!(ok, "{stderr}");
    assert_eq!(printed, from_file.public_key_pem());
    std::fs::write(&key_file, "not a key").expect("write");
    let (ok, _, stderr) = run(cli(&app.database_url)
        .arg("signing-key")
        .arg("--signing-key-file")
        .arg(&key_file));
    assert!(!ok);
    assert!(stderr.contains("not usable"), "{stderr}");
}

fn openssl_available() -> bool {
    let found = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found && std::env::var(OPENSSL_VARIABLE).is_ok_and(|v| v == "required") {
        panic!("openssl is required ({OPENSSL_VARIABLE}=required) but not installed");
    }
    found
}

/// The commands of docs/reports.md ("Signed bundles"), run as written.
async fn a_bundle_verifies_with_sha256sum_and_openssl(app: &TestApp) {
    if !openssl_available() {
        eprintln!(
            "skipped: openssl is not installed (set {OPENSSL_VARIABLE}=required to fail instead)"
        );
        return;
    }
    let (dir, path, _) = bundle_on_disk(app).await;
    let unpacked = dir.path().join("unpacked");
    std::fs::create_dir(&unpacked).expect("dir");
    let shell = |script: &str| {
        run(Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(&unpacked)
            .env("BUNDLE", &path))
    };
    let (ok, _, stderr) = shell("tar xf \"$BUNDLE\"");
    assert!(ok, "{stderr}");
    let (ok, stdout, stderr) = shell("sha256sum -c --strict manifest.txt");
    assert!(ok, "{stdout}{stderr}");
    assert_eq!(
        stdout,
        "grant.csv: OK\njournal.csv: OK\njournal.hledger: OK\nevents.jsonl: OK\n"
    );
    let verify = "openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in manifest.txt -sigfile manifest.sig";
    let (ok, stdout, stderr) = shell(verify);
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.contains("Signature Verified Successfully"),
        "{stdout}"
    );
    let (ok, stdout, _) = shell("openssl pkey -pubin -in public-key.pem -outform DER | sha256sum");
    assert!(ok);
    let key = published_key(app).await;
    assert_eq!(
        stdout,
        format!("{}  -\n", key["key_id"].as_str().expect("key id")),
        "the key id"
    );

    // Altered: a content file fails sha256sum, the manifest fails openssl.
    let (ok, _, _) = shell("printf x >> journal.csv && sha256sum -c --strict manifest.txt");
    assert!(!ok, "sha256sum notices an altered file");
    let (ok, _, _) = shell(&format!(
        "sed -i 's/^# to: /# to:  /' manifest.txt && {verify}"
    ));
    assert!(!ok, "openssl notices an altered manifest");

    // A key made by openssl serves as the instance's key file.
    let (ok, _, stderr) = shell("openssl genpkey -algorithm ed25519 -out signing.pem");
    assert!(ok, "{stderr}");
    let pem = std::fs::read_to_string(unpacked.join("signing.pem")).expect("key");
    let key = InstanceKey::from_pkcs8_pem(&pem).expect("an openssl key reads");
    let (ok, stdout, _) = shell("openssl pkey -in signing.pem -pubout");
    assert!(ok);
    assert_eq!(
        stdout,
        key.public_key_pem(),
        "the same public key as openssl derives"
    );
}

async fn bundle_queries_are_checked(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let base = format!("/v1/projects/{project}/reports/bundle");
    let problem = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        (status, json_of(response).await["code"].clone())
    };
    assert_eq!(
        problem(app.get(&base).await).await,
        (400, "invalid_query".into()),
        "the grant is required"
    );
    let unknown = uuid::Uuid::now_v7();
    assert_eq!(
        problem(app.get(&format!("{base}?grant={unknown}")).await).await,
        (404, "grant_not_found".into())
    );
    let funder = json_of(
        app.post(
            "/v1/agents",
            &serde_json::json!({"kind": "organisation", "name": "Funder"}),
        )
        .await,
    )
    .await;
    let grant = json_of(
        app.post(
            &format!("/v1/projects/{project}/grants"),
            &serde_json::json!({"funder": funder["id"], "kind": "grant", "reference": "G-1",
                "amount": "100.00", "currency": "EUR", "received_on": "2026-02-01",
                "period_start": "2026-01-01", "period_end": "2026-06-30"}),
        )
        .await,
    )
    .await;
    let grant = grant["id"].as_str().expect("grant");
    assert_eq!(
        problem(
            app.get(&format!("{base}?grant={grant}&from=2026-07-01"))
                .await
        )
        .await,
        (400, "invalid_query".into()),
        "from after the grant's end: an empty period"
    );
    assert_eq!(
        problem(
            app.get(&format!("{base}?grant={grant}&from=2026-13-01"))
                .await
        )
        .await,
        (400, "invalid_query".into())
    );
    let response = app
        .get(&format!("{base}?grant={grant}&to=2026-03-31"))
        .await;
    assert_eq!(response.status(), 200);
    let archive = response.bytes().await.expect("body");
    let verified = bundle::verify_archive(&archive, None).expect("verifies");
    assert!(
        verified
            .facts
            .contains(&("to".to_owned(), "2026-03-31".to_owned()))
    );
    assert!(
        verified
            .facts
            .contains(&("from".to_owned(), "2026-01-01".to_owned()))
    );
}

/// The key that signed earlier bundles cannot be swapped: the database
/// itself refuses to replace or delete it, and a second insert.
async fn the_database_keeps_the_signing_key(app: &TestApp) {
    use diesel::Connection;
    use diesel::connection::SimpleConnection;
    let key = published_key(app).await;
    let mut conn = app.db.connection().expect("connection");
    for (sql, rule) in [
        (
            "UPDATE signing_keys SET private_key_pem = 'x'",
            "never replaced",
        ),
        ("DELETE FROM signing_keys", "never deleted"),
        (
            "INSERT INTO signing_keys (id, private_key_pem, created_at) VALUES (2, 'x', '2026-01-01 00:00:00')",
            "one row",
        ),
    ] {
        let mut outcome = None;
        let _ = conn.transaction::<(), diesel::result::Error, _>(|conn| {
            outcome = Some(conn.batch_execute(sql));
            Err(diesel::result::Error::RollbackTransaction)
        });
        assert!(
            matches!(outcome, Some(Err(_))),
            "{rule}: the database accepted `{sql}`"
        );
    }
    let again = commons_ledger::ops::signing_key::instance_key(&app.db, None).expect("key");
    assert_eq!(again.key_id(), key["key_id"]);
}
