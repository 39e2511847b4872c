//! Signing in and out. The form's email and password go to the API's
//! `POST /v1/auth/token` (in process, with the visitor's address), so the
//! same sign-in limits apply per account, per address and for the
//! instance; the token it issues becomes the session cookie. Signing out
//! revokes that token at the API (`DELETE /v1/auth/token`), so a copy of
//! the cookie kept anywhere is refused from then on, not only forgotten by
//! this browser.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use maud::html;
use serde::Deserialize;
use serde_json::json;

use super::api::Call;
use super::messages::Key;
use super::visit::{PageError, Visit};

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// `GET /sign-in`.
pub async fn form(visit: Visit, query: web::Query<Next>) -> HttpResponse {
    let next = query.into_inner().next.unwrap_or_default();
    sign_in_page(&visit, StatusCode::OK, &next, "", None)
}

/// `POST /sign-in`.
pub async fn sign_in(visit: Visit, form: web::Form<SignInForm>) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    visit.check_csrf(&form.csrf)?;
    let next = form.next.unwrap_or_default();
    let body = json!({"email": form.email, "password": form.password});
    let answer = visit
        .send(Call::post("/v1/auth/token", None, &body))
        .await?;
    let refusal = match answer.status {
        StatusCode::OK => {
            let token = answer.json()["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            return Ok(HttpResponse::SeeOther()
                .insert_header((header::SET_COOKIE, visit.session_cookie(&token)))
                .insert_header((header::LOCATION, local(&next)))
                .finish());
        }
        StatusCode::TOO_MANY_REQUESTS => Key::SignInLimited,
        StatusCode::SERVICE_UNAVAILABLE => Key::SignInBusy,
        _ => Key::SignInFailed,
    };
    Ok(sign_in_page(
        &visit,
        answer.status,
        &next,
        &form.email,
        Some(refusal),
    ))
}

/// `POST /sign-out`: revokes the session's token at the API, then forgets
/// the session cookie.
pub async fn sign_out(visit: Visit, form: web::Form<CsrfForm>) -> Result<HttpResponse, PageError> {
    visit.check_csrf(&form.csrf)?;
    if let Some(token) = visit.token.as_deref() {
        let answer = visit
            .send(Call::delete("/v1/auth/token", Some(token)))
            .await?;
        // A token already refused (expired, revoked) has nothing left to
        // revoke; a read-only instance cannot record it (the token expires
        // on its own). Any other failure leaves the session as it was.
        let read_only = answer.json()["code"] == "read_only_instance";
        if answer.status.is_server_error() && !read_only {
            return Err(visit.error(StatusCode::SERVICE_UNAVAILABLE, Key::Broken));
        }
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::SET_COOKIE, visit.session_removal()))
        .insert_header((header::LOCATION, "/"))
        .finish())
}

fn sign_in_page(
    visit: &Visit,
    status: StatusCode,
    next: &str,
    email: &str,
    refusal: Option<Key>,
) -> HttpResponse {
    let body = html! {
        @if let Some(refusal) = refusal {
            p.error id="sign-in-error" role="alert" { (visit.t(refusal)) }
        }
        form.stack method="post" action="/sign-in" {
            input type="hidden" name="csrf" value=(visit.csrf);
            input type="hidden" name="next" value=(next);
            div {
                label for="email" { (visit.t(Key::Email)) }
                input id="email" name="email" type="email" autocomplete="username" required
                    value=(email) aria-describedby=[refusal.map(|_| "sign-in-error")];
            }
            div {
                label for="password" { (visit.t(Key::Password)) }
                input id="password" name="password" type="password" autocomplete="current-password" required;
            }
            div { button type="submit" { (visit.t(Key::SignIn)) } }
        }
    };
    let markup = visit.document(visit.t(Key::SignIn), body);
    visit.respond(HttpResponse::build(status), markup)
}

/// Where to go after signing in: a path on this site, or `/me`.
fn local(next: &str) -> String {
    let safe = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\');
    if safe {
        next.to_owned()
    } else {
        "/me".to_owned()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_local_paths_are_followed_after_signing_in() {
        assert_eq!(super::local("/projects/1/review"), "/projects/1/review");
        assert_eq!(super::local("//evil.example"), "/me");
        assert_eq!(super::local("https://evil.example"), "/me");
        assert_eq!(super::local("/\\evil.example"), "/me");
        assert_eq!(super::local(""), "/me");
    }
}
