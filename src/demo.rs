//! `commons-ledger demo`: the PRODUCT.md story of OpenAir Lyon loaded into a
//! database through the API's own routes (called in process, as any client
//! would call them), so that a first start shows filled pages. The project
//! is made public, its contributors shown by their initials; every person
//! gets a generated password, printed once.

use actix_web::web;
use serde_json::{Value, json};

use crate::http::state::AppState;
use crate::web::api::{ApiClient, Call};

/// The owner's email: its presence says the database already holds the story.
pub const OWNER_EMAIL: &str = "odile@openair-lyon.org";

/// One person of the story and how they sign in.
#[derive(Debug, Clone)]
pub struct Person {
    /// What they do in the story (`owner`, `treasurer`, `time contributor`, ...).
    pub part: &'static str,
    pub name: &'static str,
    pub email: &'static str,
    pub password: String,
    pub id: String,
}

/// The loaded story.
#[derive(Debug, Clone)]
pub struct Demo {
    pub project: String,
    pub grant: String,
    pub distribution: String,
    pub people: Vec<Person>,
}

impl Demo {
    /// The person playing `part`.
    pub fn person(&self, part: &str) -> Option<&Person> {
        self.people.iter().find(|p| p.part == part)
    }
}

/// The cast: part, role in the project, kind of agent, name, email.
const CAST: [(&str, &str, &str, &str, &str); 7] = [
    ("owner", "owner", "person", "Odile", OWNER_EMAIL),
    (
        "treasurer",
        "treasurer",
        "person",
        "Théo",
        "theo@openair-lyon.org",
    ),
    (
        "second treasurer",
        "treasurer",
        "person",
        "Sacha",
        "sacha@openair-lyon.org",
    ),
    (
        "time contributor",
        "contributor",
        "person",
        "Camille",
        "camille@openair-lyon.org",
    ),
    (
        "equipment contributor",
        "contributor",
        "person",
        "Inès",
        "ines@openair-lyon.org",
    ),
    (
        "data contributor",
        "contributor",
        "person",
        "Malo",
        "malo@openair-lyon.org",
    ),
    (
        "funder and auditor",
        "auditor",
        "organisation",
        "Fondation Horizon",
        "grants@fondation-horizon.org",
    ),
];

/// The instance administrator the loader records people with.
const ADMIN_EMAIL: &str = "admin@openair-lyon.org";

/// Loads the story into the database behind `state`. Refuses, changing
/// nothing, when the database already holds it.
pub async fn load(state: web::Data<AppState>) -> Result<Demo, String> {
    let db = state.db.clone();
    let present = web::block(move || {
        db.read(|conn| -> Result<_, crate::http::problem::ApiError> {
            Ok(crate::db::agents::find_by_email(conn, OWNER_EMAIL)?)
        })
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    if present.is_some() {
        return Err(format!(
            "this database already holds the demo story ({OWNER_EMAIL} exists); nothing was \
             changed. Serve it with `commons-ledger serve --database-url …`, or run \
             `commons-ledger demo` without --database for a fresh one"
        ));
    }
    let admin_password = generated_password();
    let db = state.db.clone();
    let password = admin_password.clone();
    web::block(move || {
        crate::admin::create_admin(&db, ADMIN_EMAIL, "Demo administrator", &password)
    })
    .await
    .map_err(|e| e.to_string())??;
    let api = Loader {
        client: ApiClient::new(std::rc::Rc::new(move || {
            Box::pin(crate::startup::dispatcher(state.clone()))
        })),
    };
    let admin = api.sign_in(ADMIN_EMAIL, &admin_password).await?;
    let mut people = Vec::new();
    for (part, _, kind, name, email) in CAST {
        let password = generated_password();
        let id = api
            .create(
                &admin,
                "/v1/agents",
                json!({"kind": kind, "name": name, "email": email, "password": password}),
            )
            .await?;
        people.push(Person {
            part,
            name,
            email,
            password,
            id,
        });
    }
    let donor = api
        .create(
            &admin,
            "/v1/agents",
            json!({"kind": "person", "name": "A neighbour"}),
        )
        .await?;
    let owner = api.sign_in(OWNER_EMAIL, &people[0].password).await?;
    let project = api
        .create(
            &owner,
            "/v1/projects",
            json!({"name": "OpenAir Lyon", "currency": "EUR"}),
        )
        .await?;
    let base = format!("/v1/projects/{project}");
    // Step 3's refusal of a CC-BY-NC-4.0 dataset needs the open-licence policy.
    let open = json!({"licence_policy": "open"});
    api.send_ok(Call::patch(&base, Some(&owner), &open)).await?;
    let mut tokens = vec![owner.clone()];
    for (person, (_, role, ..)) in people.iter().zip(CAST).skip(1) {
        let token = api.sign_in(person.email, &person.password).await?;
        api.post(
            &owner,
            &format!("{base}/invitations"),
            json!({"agent": person.id, "role": role}),
        )
        .await?;
        let mine = api
            .send_ok(Call::get("/v1/me/invitations", Some(&token)))
            .await?;
        let invitation = text(&mine["items"][0], "id")?;
        api.post(
            &token,
            &format!("/v1/me/invitations/{invitation}/acceptance"),
            json!({}),
        )
        .await?;
        tokens.push(token);
    }
    let story = Story {
        api: &api,
        base: &base,
        treasurer: &tokens[1],
        second: &tokens[2],
    };
    let (grant, distribution) = story
        .play(&people[6].id, &donor, &tokens[3..6], &people[3..6])
        .await?;
    api.send_ok(Call::patch(
        &base,
        Some(&owner),
        &json!({"public": true, "contributor_names": "initials"}),
    ))
    .await?;
    Ok(Demo {
        project,
        grant,
        distribution,
        people,
    })
}

/// The treasurers' part of the story, steps 2 to 7.
struct Story<'a> {
    api: &'a Loader,
    base: &'a str,
    treasurer: &'a str,
    second: &'a str,
}

impl Story<'_> {
    async fn as_treasurer(&self, path: &str, body: Value) -> Result<Value, String> {
        self.api
            .post(self.treasurer, &format!("{}{path}", self.base), body)
            .await
    }

    /// Plays steps 2 to 7; returns the grant's and the distribution's ids.
    async fn play(
        &self,
        funder: &str,
        donor: &str,
        contributors: &[String],
        people: &[Person],
    ) -> Result<(String, String), String> {
        for (name, funder_category) in [
            ("parts", "C.3 other goods, works and services"),
            ("in-kind-time", "A personnel costs"),
            ("in-kind-equipment", "C.2 equipment"),
            ("in-kind-data", "C.3 other goods, works and services"),
        ] {
            self.as_treasurer(
                "/expense-categories",
                json!({"name": name, "funder_category": funder_category}),
            )
            .await?;
        }
        for (kind, per, rate, method) in [
            ("time", "hour", "25.00", "replacement cost"),
            ("equipment", "hour", "3.00", "rental equivalent"),
            ("data", "dataset", "500.00", "market price"),
        ] {
            self.as_treasurer("/rates", json!({"kind": kind, "effective_from": "2026-01-01", "rate": rate,
                "currency": "EUR", "per": per, "method": method, "source": "OpenAir Lyon rates 2026"}))
                .await?;
        }
        let grant = self.as_treasurer("/grants", json!({"funder": funder, "kind": "grant",
            "reference": "FH-2026-017", "amount": "10000.00", "currency": "EUR", "received_on": "2026-02-01",
            "period_start": "2026-01-01", "period_end": "2026-12-31",
            "restriction": "air-quality sensor programme", "eligible_categories": ["parts"],
            "distributable": true}))
            .await?;
        let grant = text(&grant, "id")?;
        self.as_treasurer(
            "/grants",
            json!({"funder": donor, "kind": "donation", "reference": "DON-001",
            "amount": "250.00", "currency": "EUR", "received_on": "2026-02-10"}),
        )
        .await?;
        self.contributions(&grant, contributors).await?;
        self.as_treasurer("/expenses", json!({"grant": grant, "amount": "1200.00", "currency": "EUR",
            "category": "parts", "supplier": "Capteurs & Cie", "date": "2026-03-15", "description": "sensor parts"}))
            .await?;
        self.as_treasurer(
            "/accounts",
            json!({"name": "reserve", "currency": "EUR", "non_negative": true}),
        )
        .await?;
        self.as_treasurer("/rule-sets", json!({"steps": [
            {"share": {"type": "percentage", "percent": "10", "of": "total"}, "to": {"type": "account", "account": "reserve"}},
            {"share": {"type": "percentage", "percent": "100", "of": "remaining"},
             "to": {"type": "pro_rata", "weights": {"time": "1", "equipment": "1", "data": "1"}, "cap": {"type": "percentage", "percent": "40"}}}
        ], "residue": {"type": "pool"}}))
            .await?;
        let run = self
            .as_treasurer(
                "/distributions",
                json!({"rule_set_version": 1, "grant": grant,
            "amount": "4500.00", "period_from": "2026-03-01", "period_to": "2026-03-31"}),
            )
            .await?;
        let run = text(&run, "id")?;
        let run_path = format!("{}/distributions/{run}", self.base);
        self.api
            .post(self.second, &format!("{run_path}/approvals"), json!({}))
            .await?;
        self.api
            .post(
                self.treasurer,
                &format!("{run_path}/execution"),
                json!({"effective_date": "2026-03-31"}),
            )
            .await?;
        for (person, amount) in people.iter().zip(["1357.24", "521.18", "1000.00"]) {
            self.as_treasurer("/payouts", json!({"agent": person.id, "amount": amount, "currency": "EUR",
                "method": "bank-transfer", "reference": format!("SEPA-{amount}"), "date": "2026-04-30"}))
                .await?;
        }
        Ok((grant, run))
    }

    /// Step 3 and 4: each contributor logs their work, the treasurer
    /// approves it and matches it to the grant.
    async fn contributions(&self, grant: &str, contributors: &[String]) -> Result<(), String> {
        let work = [
            json!({"kind": "time", "date": "2026-03-02", "quantity": "12.5", "unit": "hour",
                "description": "sensor calibration", "skill": "calibration"}),
            json!({"kind": "equipment", "date": "2026-03-05", "quantity": "40", "unit": "hour",
                "equipment": "3d-printer-1", "description": "sensor housings"}),
            json!({"kind": "data", "date": "2026-03-10", "quantity": "1", "unit": "dataset",
                "dataset": {"title": "Lyon air quality, 1.2 million readings",
                "uri": "doi:10.5281/zenodo.123", "checksum": "sha256:abc", "licence": "CC-BY-4.0"}}),
        ];
        for (token, body) in contributors.iter().zip(work) {
            let id = self
                .api
                .create(token, &format!("{}/contributions", self.base), body)
                .await?;
            self.as_treasurer(
                &format!("/contributions/{id}/reviews"),
                json!({"decision": "approve"}),
            )
            .await?;
            self.as_treasurer(
                &format!("/grants/{grant}/in-kind"),
                json!({"contribution": id}),
            )
            .await?;
        }
        Ok(())
    }
}

/// A password of 20 random hex digits after `demo-`.
fn generated_password() -> String {
    let mut bytes = [0u8; 10];
    argon2::password_hash::rand_core::RngCore::fill_bytes(
        &mut argon2::password_hash::rand_core::OsRng,
        &mut bytes,
    );
    format!("demo-{}", hex::encode(bytes))
}

/// The text field `field` of an API answer.
fn text(value: &Value, field: &str) -> Result<String, String> {
    value[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("the API's answer has no `{field}`: {value}"))
}

/// Calls the API for the loader, failing on any answer but a success.
struct Loader {
    client: ApiClient,
}

impl Loader {
    async fn send_ok(&self, call: Call<'_>) -> Result<Value, String> {
        let (method, path) = (call.method.clone(), call.path.to_owned());
        let answer = self.client.send(call).await.map_err(|e| e.to_string())?;
        if !answer.is_success() {
            return Err(format!(
                "{method} {path} was refused ({}): {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            ));
        }
        Ok(answer.json())
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> Result<Value, String> {
        self.send_ok(Call::post(path, Some(token), &body)).await
    }

    /// Posts `body` to `path` and gives the id of what it created.
    async fn create(&self, token: &str, path: &str, body: Value) -> Result<String, String> {
        text(&self.post(token, path, body).await?, "id")
    }

    async fn sign_in(&self, email: &str, password: &str) -> Result<String, String> {
        let body = json!({"email": email, "password": password});
        let token = self
            .send_ok(Call::post("/v1/auth/token", None, &body))
            .await?;
        text(&token, "access_token")
    }
}
