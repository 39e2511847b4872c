//! Long work outside the writer: a distribution draft and a CSV import are
//! computed in a read snapshot while other writes go on, and written only if
//! what they read is unchanged; otherwise computed again, and refused 409
//! `changed_during_computation` when it keeps changing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use commons_ledger::db::{DbConnection, StorageError};
use commons_ledger::write_pipeline::{AfterCompute, TestHooks};
use diesel::RunQueryDsl;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, created, json_of, spawn_app_with_hooks};

macro_rules! with_hooks_on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (app, hooks) = super::spawn_app_with_hooks(crate::helpers::Backend::Sqlite, 1)
                    .await
                    .expect("SQLite app");
                super::$scenario(&app, hooks).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(postgres_tests), ignore = "COMMONS_LEDGER_TEST_POSTGRES_URL is not set")]
            async fn postgres() {
                let (app, hooks) = super::spawn_app_with_hooks(crate::helpers::Backend::Postgres, 1)
                    .await
                    .expect("PostgreSQL app: set COMMONS_LEDGER_TEST_POSTGRES_URL");
                super::$scenario(&app, hooks).await;
            }
        }
    )*};
}

with_hooks_on_both_backends!(
    a_decision_made_during_a_draft_is_counted,
    a_draft_whose_inputs_keep_changing_is_refused_and_not_kept,
    a_whole_pool_draft_follows_the_balance,
    a_replayed_draft_is_not_computed_again,
    transfers_go_on_while_a_draft_is_computed,
    an_import_is_valued_with_a_rate_added_during_it,
    an_import_whose_member_left_during_it_is_refused,
);

/// How long a test waits for a request it let go before calling it stuck.
const STUCK: Duration = Duration::from_secs(60);

/// A project with a time rate of 25.00 EUR an hour, 1,000.00 EUR in its
/// general pool, a rule set sharing everything pro rata to time, and two
/// contributors with 10 hours each: the first approved, the second pending.
struct Setup {
    project: String,
    base: String,
    approved: (String, String),
    pending: (String, String),
    pending_contribution: String,
}

async fn setup(app: &TestApp) -> Setup {
    let project = app.create_project("EUR").await;
    let base = format!("/v1/projects/{project}");
    created(app.post(&format!("{base}/rates"), &json!({"kind": "time", "effective_from": "2026-01-01",
        "rate": "25.00", "currency": "EUR", "per": "hour", "method": "replacement_cost", "source": "test"})).await).await;
    let funder = created(
        app.post(
            "/v1/agents",
            &json!({"kind": "organisation", "name": "Fondation Horizon"}),
        )
        .await,
    )
    .await;
    created(
        app.post(
            &format!("{base}/grants"),
            &json!({"funder": funder["id"], "kind": "donation",
        "reference": "D-1", "amount": "1000.00", "currency": "EUR", "received_on": "2026-02-01"}),
        )
        .await,
    )
    .await;
    created(
        app.post(
            &format!("{base}/rule-sets"),
            &json!({"steps": [{"share": {"type": "percentage", "percent": "100", "of": "total"},
        "to": {"type": "pro_rata", "weights": {"time": "1"}}}], "residue": {"type": "pool"}}),
        )
        .await,
    )
    .await;
    let approved = app.member(&project, "contributor").await;
    let pending = app.member(&project, "contributor").await;
    let mut ids = Vec::new();
    for (_, token) in [&approved, &pending] {
        let contribution = created(
            app.send_as(
                Some(token),
                Method::POST,
                &format!("{base}/contributions"),
                Some(&json!({"kind": "time", "date": "2026-03-02", "quantity": "10", "unit": "hour"})),
            )
            .await,
        )
        .await;
        ids.push(contribution["id"].as_str().expect("id").to_owned());
    }
    created(
        app.post(
            &format!("{base}/contributions/{}/reviews", ids[0]),
            &json!({"decision": "approve"}),
        )
        .await,
    )
    .await;
    Setup {
        project,
        base,
        approved,
        pending,
        pending_contribution: ids[1].clone(),
    }
}

fn draft_body(amount: &str) -> Value {
    json!({"rule_set_version": 1, "amount": amount, "period_from": "2026-03-01", "period_to": "2026-03-31"})
}

fn set_hook(hooks: &TestHooks, action: impl Fn() + Send + Sync + 'static) {
    *hooks.after_compute.lock().expect("hook") = Some(AfterCompute(Box::new(action)));
}

fn clear_hook(hooks: &TestHooks) {
    *hooks.after_compute.lock().expect("hook") = None;
}

/// A counter of `/metrics`, by its full name.
async fn metric(app: &TestApp, name: &str) -> u64 {
    let text = app
        .get("/metrics")
        .await
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in /metrics"))
}

async fn retries(app: &TestApp) -> u64 {
    metric(app, "commons_ledger_computation_retries_total").await
}

async fn a_decision_made_during_a_draft_is_counted(app: &TestApp, hooks: Arc<TestHooks>) {
    let setup = setup(app).await;
    let database = app.db.clone();
    let contribution = setup.pending_contribution.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    // The pending contribution is approved while the first draft is computed.
    set_hook(&hooks, move || {
        if counted.fetch_add(1, Ordering::SeqCst) == 0 {
            database
                .write(|conn: &mut DbConnection| -> Result<(), StorageError> {
                    commons_ledger::db::contributions::decide(conn, &contribution, "approved")?;
                    Ok(())
                })
                .expect("approve");
        }
    });
    let before = retries(app).await;
    let computed_before = metric(app, "commons_ledger_computation_duration_seconds_count").await;
    let draft = created(
        app.post(
            &format!("{}/distributions", setup.base),
            &draft_body("100.00"),
        )
        .await,
    )
    .await;
    clear_hook(&hooks);
    assert_eq!(calls.load(Ordering::SeqCst), 2, "computed twice");
    assert_eq!(retries(app).await, before + 1);
    assert_eq!(
        metric(app, "commons_ledger_computation_duration_seconds_count").await,
        computed_before + 2,
        "each computation's time is observed"
    );
    let mut paid: Vec<(String, String)> = draft["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|line| {
            (
                line["agent"].as_str().expect("agent").to_owned(),
                line["amount"].as_str().expect("amount").to_owned(),
            )
        })
        .collect();
    paid.sort();
    let mut expected = vec![
        (setup.approved.0.clone(), "50.00".to_owned()),
        (setup.pending.0.clone(), "50.00".to_owned()),
    ];
    expected.sort();
    assert_eq!(
        paid, expected,
        "the contribution approved meanwhile is counted: {draft}"
    );
}

async fn a_draft_whose_inputs_keep_changing_is_refused_and_not_kept(
    app: &TestApp,
    hooks: Arc<TestHooks>,
) {
    let setup = setup(app).await;
    let statement = format!(
        "UPDATE projects SET allow_unvalued = 1 - allow_unvalued WHERE id = '{}'",
        setup.project
    );
    let database_app = (app.db.clone(), statement);
    // Every computation finds its inputs changed before it can be written.
    set_hook(&hooks, move || {
        let (database, statement) = &database_app;
        database
            .write(|conn: &mut DbConnection| -> Result<(), StorageError> {
                diesel::sql_query(statement).execute(conn)?;
                Ok(())
            })
            .expect("change a setting");
    });
    let path = format!("{}/distributions", setup.base);
    let refused = app
        .post_with_key(&path, "draft-1", &draft_body("100.00"))
        .await;
    assert_eq!(refused.status(), 409);
    assert_eq!(json_of(refused).await["code"], "changed_during_computation");
    clear_hook(&hooks);
    let runs = json_of(app.get(&path).await).await;
    assert_eq!(
        runs["items"].as_array().expect("items").len(),
        0,
        "nothing kept"
    );
    // The refusal is not stored under the key: the same request now succeeds.
    let retried = app
        .post_with_key(&path, "draft-1", &draft_body("100.00"))
        .await;
    assert!(retried.headers().get("Idempotency-Replayed").is_none());
    created(retried).await;
}

async fn a_whole_pool_draft_follows_the_balance(app: &TestApp, hooks: Arc<TestHooks>) {
    let setup = setup(app).await;
    app.create_account(&setup.project, "bank", "EUR", false)
        .await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let address = app.url(&format!("/v1/projects/{}/transactions", setup.project));
    let token = app.token_for(&app.admin_id);
    // 1,000.00 is read; 200.00 more arrives before the draft is written.
    let (ask, asked) = mpsc::channel::<()>();
    let (done, finished) = mpsc::channel::<()>();
    let finished = Mutex::new(finished);
    set_hook(&hooks, move || {
        if counted.fetch_add(1, Ordering::SeqCst) == 0 {
            ask.send(()).expect("ask");
            finished
                .lock()
                .expect("receiver")
                .recv_timeout(STUCK)
                .expect("transfer made");
        }
    });
    let draft = {
        let client = app.client.clone();
        let path = app.url(&format!("{}/distributions", setup.base));
        tokio::spawn(async move { client.post(path).json(&draft_body("all")).send().await })
    };
    tokio::task::spawn_blocking(move || asked.recv_timeout(STUCK))
        .await
        .expect("join")
        .expect("the draft was computed");
    let transfer = app
        .anonymous
        .post(&address)
        .bearer_auth(&token)
        .json(&crate::helpers::transfer_body(
            "bank",
            "pool:general",
            "200.00",
            "EUR",
        ))
        .send()
        .await
        .expect("transfer");
    assert_eq!(transfer.status(), 201);
    done.send(()).expect("done");
    let draft = created(draft.await.expect("join").expect("draft")).await;
    clear_hook(&hooks);
    assert_eq!(draft["amount"], "1200.00", "all of the pool when written");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

async fn a_replayed_draft_is_not_computed_again(app: &TestApp, hooks: Arc<TestHooks>) {
    let setup = setup(app).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    set_hook(&hooks, move || {
        counted.fetch_add(1, Ordering::SeqCst);
    });
    let path = format!("{}/distributions", setup.base);
    let first = created(
        app.post_with_key(&path, "draft-2", &draft_body("100.00"))
            .await,
    )
    .await;
    let again = app
        .post_with_key(&path, "draft-2", &draft_body("100.00"))
        .await;
    assert_eq!(
        again
            .headers()
            .get("Idempotency-Replayed")
            .map(|v| v.to_str().expect("header")),
        Some("true")
    );
    let again = created(again).await;
    assert_eq!(again["id"], first["id"]);
    let reused = app
        .post_with_key(&path, "draft-2", &draft_body("200.00"))
        .await;
    assert_eq!(reused.status(), 422);
    assert_eq!(json_of(reused).await["code"], "idempotency_key_reused");
    clear_hook(&hooks);
    assert_eq!(calls.load(Ordering::SeqCst), 1, "computed once");
}

async fn transfers_go_on_while_a_draft_is_computed(app: &TestApp, hooks: Arc<TestHooks>) {
    let setup = setup(app).await;
    // The draft stays in its read snapshot until the test lets it go.
    transfers_while_a_draft_is_held(app, &setup, &hooks.after_compute).await;
}

/// Posts a draft that `hook` holds until three transfers to the project
/// have each been answered 201 (none may wait for the draft), then lets it
/// go; answers the draft.
async fn transfers_while_a_draft_is_held(
    app: &TestApp,
    setup: &Setup,
    hook: &Mutex<Option<AfterCompute>>,
) -> Value {
    app.create_account(&setup.project, "a", "EUR", false).await;
    app.create_account(&setup.project, "b", "EUR", false).await;
    let (started, holding) = mpsc::channel::<()>();
    let (release, released) = mpsc::channel::<()>();
    let released = Mutex::new(released);
    *hook.lock().expect("hook") = Some(AfterCompute(Box::new(move || {
        started.send(()).expect("started");
        released
            .lock()
            .expect("receiver")
            .recv_timeout(STUCK)
            .expect("released");
    })));
    let draft = {
        let client = app.client.clone();
        let path = app.url(&format!("{}/distributions", setup.base));
        tokio::spawn(async move { client.post(path).json(&draft_body("100.00")).send().await })
    };
    tokio::task::spawn_blocking(move || holding.recv_timeout(STUCK))
        .await
        .expect("join")
        .expect("the draft is held");
    for _ in 0..3 {
        let transfer =
            tokio::time::timeout(STUCK, app.transfer(&setup.project, "a", "b", "0.01", "EUR"))
                .await
                .expect("a transfer is not held up by the draft");
        assert_eq!(transfer.status(), 201);
    }
    release.send(()).expect("release");
    let draft = created(draft.await.expect("join").expect("draft")).await;
    *hook.lock().expect("hook") = None;
    assert_eq!(
        app.transaction_count(&setup.project).await,
        4,
        "the grant and three transfers"
    );
    draft
}

/// On PostgreSQL a draft writes its selection (a row a counted contribution,
/// most of its write) before it takes the project's lock, in a transaction
/// of its own: transfers to the project commit meanwhile. (On SQLite writes
/// are one at a time in any case.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "COMMONS_LEDGER_TEST_POSTGRES_URL is not set"
)]
async fn transfers_go_on_while_a_draft_writes_its_selection() {
    let (app, hooks) = spawn_app_with_hooks(crate::helpers::Backend::Postgres, 4)
        .await
        .expect("PostgreSQL app: set COMMONS_LEDGER_TEST_POSTGRES_URL");
    let setup = setup(&app).await;
    // The draft's write stays between its selection and the project's lock
    // until the test lets it go.
    let draft = transfers_while_a_draft_is_held(&app, &setup, &hooks.after_staging).await;
    // The run and the selection it wrote first are one: the approved
    // contribution, counted once.
    let (project_id, run_id) = (
        setup.project.clone(),
        draft["id"].as_str().expect("id").to_owned(),
    );
    let selection = app
        .db
        .read(move |conn| -> Result<_, StorageError> {
            let run = commons_ledger::db::distributions::run(conn, &project_id, &run_id)?
                .expect("the run");
            Ok(commons_ledger::db::distributions::selection(conn, &run)?)
        })
        .expect("read the run");
    let selection = selection.expect("a selection recorded");
    assert_eq!(selection.len(), 1, "{draft}");
    assert_ne!(selection[0], setup.pending_contribution, "the approved one");
}

fn timesheet(agent: &str) -> String {
    format!(
        "agent,kind,date,quantity,unit\n{agent},time,2026-03-03,4,hour\n{agent},time,2026-03-04,2,hour\n"
    )
}

async fn import(app: &TestApp, project: &str, body: String) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/v1/projects/{project}/contributions/imports")))
        .header("Content-Type", "text/csv")
        .body(body)
        .send()
        .await
        .expect("request")
}

async fn an_import_is_valued_with_a_rate_added_during_it(app: &TestApp, hooks: Arc<TestHooks>) {
    let setup = setup(app).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let statement = format!(
        "INSERT INTO rates (id, project_id, kind, skill, equipment, agent_id, per, effective_from, rate, currency, method, source, created_by, created_at)
         VALUES ('{}', '{}', 'time', '', '', '', 'hour', '2026-03-01', 4000, 'EUR', 'replacement_cost', 'test', '{}', '2026-03-01 00:00:00')",
        uuid::Uuid::now_v7(),
        setup.project,
        app.admin_id
    );
    let database = app.db.clone();
    set_hook(&hooks, move || {
        if counted.fetch_add(1, Ordering::SeqCst) == 0 {
            database
                .write(|conn: &mut DbConnection| -> Result<(), StorageError> {
                    diesel::sql_query(&statement).execute(conn)?;
                    Ok(())
                })
                .expect("add a rate");
        }
    });
    let imported = created(import(app, &setup.project, timesheet(&setup.approved.0)).await).await;
    clear_hook(&hooks);
    assert_eq!(calls.load(Ordering::SeqCst), 2, "computed twice");
    assert_eq!(imported["imported"], 2);
    let mut values = Vec::new();
    for id in imported["contributions"].as_array().expect("ids") {
        let id = id.as_str().expect("id");
        let contribution =
            json_of(app.get(&format!("{}/contributions/{id}", setup.base)).await).await;
        values.push(
            contribution["valuation"]["value"]
                .as_str()
                .expect("value")
                .to_owned(),
        );
    }
    assert_eq!(
        values,
        ["160.00", "80.00"],
        "valued at the rate in force when written"
    );
}

async fn an_import_whose_member_left_during_it_is_refused(app: &TestApp, hooks: Arc<TestHooks>) {
    let setup = setup(app).await;
    let member = setup.pending.0.clone();
    let project = setup.project.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let app_db = app.db.clone();
    set_hook(&hooks, move || {
        if counted.fetch_add(1, Ordering::SeqCst) == 0 {
            app_db
                .write(|conn: &mut DbConnection| -> Result<(), StorageError> {
                    commons_ledger::db::memberships::delete(conn, &project, &member)?;
                    Ok(())
                })
                .expect("remove the member");
        }
    });
    let refused = import(app, &setup.project, timesheet(&setup.pending.0)).await;
    clear_hook(&hooks);
    assert_eq!(refused.status(), 422);
    let problem = json_of(refused).await;
    assert_eq!(problem["errors"][0]["code"], "unknown_agent", "{problem}");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let listed = json_of(
        app.get(&format!(
            "{}/contributions?agent={}",
            setup.base, setup.pending.0
        ))
        .await,
    )
    .await;
    assert_eq!(
        listed["items"].as_array().expect("items").len(),
        1,
        "only the contribution logged before: nothing imported"
    );
}
