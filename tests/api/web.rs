//! The web pages over the API: the public transparency page shows the
//! story's figures exactly as the API gives them, in English and French;
//! the value account shows what the contributor earned and why; forms need
//! the CSRF token, show the API's refusals beside their fields and write
//! nothing when refused; sign-in goes through the API's limits.

use reqwest::Method;
use reqwest::header::{ACCEPT_LANGUAGE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

use crate::funder_reports::play_story;
use crate::helpers::{TestApp, json_of};
use crate::on_both_backends;

on_both_backends!(
    the_public_page_shows_the_api_figures,
    a_private_project_has_no_public_page,
    the_value_account_shows_what_was_earned_and_why,
    forms_need_the_csrf_token,
    a_refused_form_shows_why_beside_the_field,
    a_treasurer_reviews_through_the_page,
    signing_in_goes_through_the_api_limits,
    the_public_page_names_contributors_as_the_project_allows,
    signing_out_ends_the_session_for_every_copy_of_the_cookie,
);

const CSRF: &str = "0123456789abcdef0123456789abcdef";

/// A client that does not follow redirects, so that they can be checked.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn cookies(token: Option<&str>) -> String {
    match token {
        Some(token) => format!("cl_session={token}; cl_csrf={CSRF}"),
        None => format!("cl_csrf={CSRF}"),
    }
}

async fn page(app: &TestApp, token: Option<&str>, path: &str, language: &str) -> (u16, String) {
    let response = browser()
        .get(app.url(path))
        .header(COOKIE, cookies(token))
        .header(ACCEPT_LANGUAGE, language)
        .send()
        .await
        .expect("page");
    let status = response.status().as_u16();
    (status, response.text().await.expect("text"))
}

async fn submit(
    app: &TestApp,
    token: Option<&str>,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    browser()
        .post(app.url(path))
        .header(COOKIE, cookies(token))
        .form(form)
        .send()
        .await
        .expect("form")
}

/// The project at `base` made public by its owner (the administrator).
async fn make_public(app: &TestApp, base: &str) {
    let response = app
        .client
        .patch(app.url(base))
        .json(&json!({"public": true}))
        .send()
        .await
        .expect("patch");
    assert_eq!(response.status(), 200);
}

async fn api(app: &TestApp, token: &str, path: &str) -> Value {
    json_of(app.send_as(Some(token), Method::GET, path, None).await).await
}

/// `€1,357.24` and `1 357,24 €` (narrow no-break space, no-break space).
fn english(amount: &str) -> String {
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

fn french(amount: &str) -> String {
    english(amount)
        .trim_start_matches('€')
        .replace(',', "\u{202F}")
        .replace('.', ",")
        + "\u{A0}€"
}

async fn the_public_page_shows_the_api_figures(app: &TestApp) {
    let story = play_story(app).await;
    let made_public = app.send_as(None, Method::PATCH, &story.base, None).await;
    assert_eq!(
        made_public.status(),
        401,
        "a stranger cannot make it public"
    );
    make_public(app, &story.base).await;
    let project = story.base.trim_start_matches("/v1/projects/");
    let (status, english_page) = page(app, None, &format!("/p/{project}"), "en-GB,en;q=0.9").await;
    assert_eq!(status, 200, "{english_page}");
    let (_, french_page) = page(app, None, &format!("/p/{project}"), "fr-FR,fr;q=0.9").await;
    let run = json_of(
        app.send_as(
            None,
            Method::GET,
            &format!("{}/distributions/{}", story.base, story.run),
            None,
        )
        .await,
    )
    .await;
    let mut figures: Vec<String> = run["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|line| line["amount"].as_str().expect("amount").to_owned())
        .collect();
    assert_eq!(
        figures,
        ["1357.24", "521.18", "1620.00"],
        "the story's lines"
    );
    figures.push(run["residue"].as_str().expect("residue").to_owned());
    figures.push(
        run["transfers"][0]["amount"]
            .as_str()
            .expect("reserve")
            .to_owned(),
    );
    for figure in &figures {
        assert!(
            english_page.contains(&english(figure)),
            "{} on the English page",
            english(figure)
        );
        assert!(
            french_page.contains(&french(figure)),
            "{} on the French page",
            french(figure)
        );
    }
    for line in run["lines"].as_array().expect("lines") {
        let why = line["explanation"].as_str().expect("explanation");
        assert!(
            english_page.contains(&why.replace('\'', "&#39;")) || english_page.contains(why),
            "the explanation of each line: {why}"
        );
        let basis = french(line["basis"].as_str().expect("basis"));
        assert!(
            french_page.contains(&format!("{basis} de valeur approuvée sur la période")),
            "the French page says why in French: {basis}"
        );
    }
    let grants = api(app, &story.auditor, &format!("{}/grants", story.base)).await;
    let grant = &grants["items"][0];
    for field in ["received", "spent", "distributed", "remaining"] {
        let figure = english(grant[field].as_str().expect("figure"));
        assert!(
            english_page.contains(&figure),
            "the grant's {field}, {figure}"
        );
    }
    assert!(
        english_page.contains(&format!(
            "{}/reports/grants/{}.csv",
            story.base, story.grant
        )),
        "the grant report's link"
    );
    assert!(
        french_page.contains("lang=\"fr\""),
        "the French page says it is French"
    );
    for id in &story.contributors {
        assert!(
            !english_page.contains(id.as_str()),
            "no contributor's id on the public page"
        );
    }
    let (_, switched) = page(app, None, &format!("/p/{project}?lang=fr"), "en").await;
    assert!(
        switched.contains(&french("1357.24")),
        "?lang=fr overrides Accept-Language"
    );
}

async fn a_private_project_has_no_public_page(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let (status, body) = page(app, None, &format!("/p/{project}"), "en").await;
    assert_eq!(status, 404, "{body}");
    let (_, outsider) = app
        .member(&app.create_project("EUR").await, "contributor")
        .await;
    let (status, _) = page(app, Some(&outsider), &format!("/p/{project}"), "en").await;
    assert_eq!(
        status, 404,
        "a member of another project does not see it either"
    );
}

async fn the_value_account_shows_what_was_earned_and_why(app: &TestApp) {
    let story = play_story(app).await;
    let contributor = app.token_for(&story.contributors[0]);
    let account = api(app, &contributor, "/v1/me/value-account").await;
    let earned = account["projects"][0]["money"][0]["distributions_earned"]
        .as_str()
        .expect("earned");
    assert_eq!(earned, "1357.24");
    let (status, body) = page(app, Some(&contributor), "/me", "fr").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&french(earned)), "earned, in French");
    assert!(
        body.contains("1357.238606 exactly"),
        "why: the line's explanation"
    );
    let other = app.token_for(&story.contributors[1]);
    let (_, theirs) = page(app, Some(&other), "/me", "en").await;
    assert!(
        theirs.contains(&english("521.18")) && !theirs.contains(&english("1357.24")),
        "each sees their own account"
    );
    let anonymous = browser().get(app.url("/me")).send().await.expect("me");
    assert_eq!(anonymous.status(), 303, "anonymous: to the sign-in page");
    assert_eq!(anonymous.headers()[LOCATION], "/sign-in?next=/me");
}

async fn contributions_of(app: &TestApp, project: &str, token: &str) -> usize {
    api(app, token, &format!("/v1/projects/{project}/contributions")).await["items"]
        .as_array()
        .expect("items")
        .len()
}

async fn forms_need_the_csrf_token(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let (_, contributor) = app.member(&project, "contributor").await;
    let path = format!("/projects/{project}/contributions");
    let form = [
        ("kind", "time"),
        ("date", "2026-03-02"),
        ("quantity", "2"),
        ("unit", "hour"),
    ];
    for csrf in ["", "ffffffffffffffffffffffffffffffff"] {
        let mut with = form.to_vec();
        with.push(("csrf", csrf));
        let refused = submit(app, Some(&contributor), &path, &with).await;
        assert_eq!(
            refused.status(),
            403,
            "a form without the visitor's token is refused"
        );
    }
    let no_cookie = browser()
        .post(app.url(&path))
        .header(COOKIE, format!("cl_session={contributor}"))
        .form(&[("csrf", CSRF), ("kind", "time")])
        .send()
        .await
        .expect("form");
    assert_eq!(
        no_cookie.status(),
        403,
        "a token without its cookie is refused"
    );
    assert_eq!(
        contributions_of(app, &project, &contributor).await,
        0,
        "nothing was written"
    );
}

async fn a_refused_form_shows_why_beside_the_field(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let (_, contributor) = app.member(&project, "contributor").await;
    let path = format!("/projects/{project}/contributions");
    let form = [
        ("csrf", CSRF),
        ("kind", "time"),
        ("date", "2026-03-02"),
        ("quantity", "-3"),
        ("unit", "hour"),
    ];
    let refused = submit(app, Some(&contributor), &path, &form).await;
    assert_eq!(refused.status(), 422);
    let body = refused.text().await.expect("body");
    assert!(
        body.contains("id=\"log-quantity-error\""),
        "the message is beside the quantity: {body}"
    );
    assert!(
        body.contains("aria-describedby=\"log-quantity-error\""),
        "and tied to its input"
    );
    assert!(body.contains("value=\"-3\""), "what was sent is kept");
    let french = browser()
        .post(app.url(&path))
        .header(COOKIE, cookies(Some(&contributor)))
        .header(ACCEPT_LANGUAGE, "fr")
        .form(&form)
        .send()
        .await
        .expect("form");
    assert_eq!(french.status(), 422);
    let body = french.text().await.expect("body");
    assert!(
        body.contains("la quantité doit être un nombre positif."),
        "the field's code in French: {body}"
    );
    assert!(
        body.contains("certains champs ne conviennent pas"),
        "the problem's code in French"
    );
    assert_eq!(
        contributions_of(app, &project, &contributor).await,
        0,
        "nothing was written"
    );
    let rate = json!({"kind": "time", "effective_from": "2026-01-01", "rate": "25.00", "currency": "EUR",
        "per": "hour", "method": "replacement cost", "source": "test"});
    let rated = app
        .post(&format!("/v1/projects/{project}/rates"), &rate)
        .await;
    assert_eq!(rated.status(), 201);
    let valid = [
        ("csrf", CSRF),
        ("kind", "time"),
        ("date", "2026-03-02"),
        ("quantity", "3"),
        ("unit", "hour"),
    ];
    let logged = submit(app, Some(&contributor), &path, &valid).await;
    assert_eq!(logged.status(), 303, "{:?}", logged.text().await);
    assert_eq!(contributions_of(app, &project, &contributor).await, 1);
}

async fn a_treasurer_reviews_through_the_page(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let (_, treasurer) = app.member(&project, "treasurer").await;
    let (_, contributor) = app.member(&project, "contributor").await;
    let base = format!("/v1/projects/{project}");
    let rate = json!({"kind": "time", "effective_from": "2026-01-01", "rate": "25.00", "currency": "EUR",
        "per": "hour", "method": "replacement cost", "source": "test"});
    assert_eq!(
        app.send_as(
            Some(&treasurer),
            Method::POST,
            &format!("{base}/rates"),
            Some(&rate)
        )
        .await
        .status(),
        201
    );
    let work = json!({"kind": "time", "date": "2026-03-02", "quantity": "12.5", "unit": "hour"});
    let logged = json_of(
        app.send_as(
            Some(&contributor),
            Method::POST,
            &format!("{base}/contributions"),
            Some(&work),
        )
        .await,
    )
    .await;
    let id = logged["id"].as_str().expect("id");
    let (status, queue) = page(
        app,
        Some(&treasurer),
        &format!("/projects/{project}/review"),
        "en",
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        queue.contains(&english("312.50")),
        "the queue shows the value"
    );
    let review = format!("/projects/{project}/review/{id}");
    let by_contributor = submit(
        app,
        Some(&contributor),
        &review,
        &[("csrf", CSRF), ("decision", "approve")],
    )
    .await;
    assert_eq!(
        by_contributor.status(),
        403,
        "the API's decision: a contributor does not review"
    );
    let stored = api(app, &treasurer, &format!("{base}/contributions/{id}")).await;
    assert_eq!(stored["status"], "pending");
    let approved = submit(
        app,
        Some(&treasurer),
        &review,
        &[("csrf", CSRF), ("decision", "approve")],
    )
    .await;
    assert_eq!(approved.status(), 303);
    let stored = api(app, &treasurer, &format!("{base}/contributions/{id}")).await;
    assert_eq!(stored["status"], "approved");
}

async fn signing_in_goes_through_the_api_limits(app: &TestApp) {
    let password = "a long enough passphrase";
    let agent = app
        .post("/v1/agents", &json!({"kind": "person", "name": "Camille", "email": "camille@example.org", "password": password}))
        .await;
    assert_eq!(agent.status(), 201);
    let sign_in = |password: &'static str| async move {
        submit(
            app,
            None,
            "/sign-in",
            &[
                ("csrf", CSRF),
                ("email", "camille@example.org"),
                ("password", password),
                ("next", "/me"),
            ],
        )
        .await
    };
    let signed_in = sign_in(password).await;
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()[LOCATION], "/me");
    let cookie = signed_in.headers()[SET_COOKIE]
        .to_str()
        .expect("cookie")
        .to_owned();
    for attribute in [
        "cl_session=",
        "HttpOnly",
        "SameSite=Lax",
        "Max-Age=3600",
        "Path=/",
    ] {
        assert!(
            cookie.contains(attribute),
            "the session cookie has {attribute}: {cookie}"
        );
    }
    let wrong = sign_in("not the passphrase at all").await;
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong
            .text()
            .await
            .expect("body")
            .contains("The email or password is wrong.")
    );
    let mut last = 0;
    for _ in 0..6 {
        last = sign_in("not the passphrase at all").await.status().as_u16();
    }
    assert_eq!(last, 429, "the API's per-account limit applies to the page");
    let token = cookie
        .trim_start_matches("cl_session=")
        .split(';')
        .next()
        .expect("token");
    let out = submit(app, Some(token), "/sign-out", &[("csrf", CSRF)]).await;
    assert_eq!(out.status(), 303);
    let removal = out.headers()[SET_COOKIE].to_str().expect("cookie");
    assert!(
        removal.starts_with("cl_session=;") && removal.contains("Max-Age=0"),
        "{removal}"
    );
}

/// The story's contributors are all named "contributor of the project".
async fn the_public_page_names_contributors_as_the_project_allows(app: &TestApp) {
    const NAME: &str = "contributor of the project";
    let story = play_story(app).await;
    let project = story.base.trim_start_matches("/v1/projects/").to_owned();
    make_public(app, &story.base).await;
    let public_page = || async { page(app, None, &format!("/p/{project}"), "en").await.1 };
    let hidden = public_page().await;
    assert!(
        hidden.contains("Contributor 1") && !hidden.contains(NAME),
        "hidden by default: numbered, never named"
    );

    let owner = app.token_for(&app.admin_id);
    let settings = format!("/projects/{project}/settings");
    let (status, form) = page(app, Some(&owner), &settings, "en").await;
    assert_eq!(status, 200, "{form}");
    assert!(form.contains("name=\"contributor_names\""), "{form}");
    let changed = submit(
        app,
        Some(&owner),
        &settings,
        &[("csrf", CSRF), ("contributor_names", "initials")],
    )
    .await;
    assert_eq!(changed.status(), 303, "the owner changes it");
    let initials = public_page().await;
    assert!(
        initials.contains("C. O. T. P.") && !initials.contains(NAME),
        "initials, never the name"
    );

    let refused = submit(
        app,
        Some(&story.auditor),
        &settings,
        &[("csrf", CSRF), ("contributor_names", "names")],
    )
    .await;
    assert_eq!(refused.status(), 403, "an auditor may not");
    let read = api(app, &owner, &story.base).await;
    assert_eq!(
        read["contributor_names"], "initials",
        "the refusal changed nothing"
    );

    let named = submit(
        app,
        Some(&owner),
        &settings,
        &[("csrf", CSRF), ("contributor_names", "names")],
    )
    .await;
    assert_eq!(named.status(), 303);
    assert!(public_page().await.contains(NAME), "names, as chosen");
}

/// Signing out revokes the session's token: the cookie kept by anyone (a
/// shared computer's history, a stolen copy) no longer signs anyone in,
/// through the pages or the API.
async fn signing_out_ends_the_session_for_every_copy_of_the_cookie(app: &TestApp) {
    let project = app.create_project("EUR").await;
    let (_, contributor) = app.member(&project, "contributor").await;
    let (status, _) = page(app, Some(&contributor), "/me", "en").await;
    assert_eq!(status, 200, "signed in");
    let refused = submit(app, Some(&contributor), "/sign-out", &[("csrf", "not it")]).await;
    assert_eq!(refused.status(), 403, "signing out needs the CSRF token");
    let (status, _) = page(app, Some(&contributor), "/me", "en").await;
    assert_eq!(status, 200, "a refused sign-out changes nothing");

    let out = submit(app, Some(&contributor), "/sign-out", &[("csrf", CSRF)]).await;
    assert_eq!(out.status(), 303);
    let removal = out.headers()[SET_COOKIE]
        .to_str()
        .expect("cookie")
        .to_owned();
    assert!(
        removal.contains("cl_session=") && removal.contains("Max-Age=0"),
        "{removal}"
    );
    let kept = browser()
        .get(app.url("/me"))
        .header(COOKIE, cookies(Some(&contributor)))
        .send()
        .await
        .expect("page");
    assert_eq!(kept.status(), 303, "the kept cookie signs no one in");
    assert!(
        kept.headers()[LOCATION]
            .to_str()
            .expect("location")
            .starts_with("/sign-in"),
        "back to signing in"
    );
    let through_api = app
        .send_as(Some(&contributor), Method::GET, "/v1/me", None)
        .await;
    assert_eq!(through_api.status(), 401, "nor through the API");
}
