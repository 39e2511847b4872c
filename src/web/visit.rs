//! One visit to a page: who is signed in (the session cookie), the form
//! token against cross-site requests (CSRF), the language, and the way to
//! the API with the visitor's token. Every page handler takes a [`Visit`].
//!
//! The session cookie holds the access token the API issued at sign-in
//! (`HttpOnly`, `SameSite=Lax`, `Secure` when `--secure-cookies` is set,
//! expiring with the token). Every form carries the CSRF token, which must
//! equal the `cl_csrf` cookie's (double submit); the cookie is
//! `SameSite=Strict`, so another site can neither read nor send it.

use std::future::{Ready, ready};
use std::net::SocketAddr;

use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use maud::{DOCTYPE, Markup, html};
use serde_json::Value;

use super::api::{Answer, ApiClient, Call};
use super::locale::{self, Locale};
use super::messages::{Key, text};
use crate::http::state::AppState;

/// The session cookie: the API's access token.
pub const SESSION_COOKIE: &str = "cl_session";
/// The CSRF cookie, compared with each form's `csrf` field.
pub const CSRF_COOKIE: &str = "cl_csrf";

/// What a page handler knows about the request it answers.
pub struct Visit {
    pub api: ApiClient,
    pub token: Option<String>,
    pub csrf: String,
    fresh_csrf: bool,
    pub locale: Locale,
    chosen_locale: bool,
    pub peer: Option<SocketAddr>,
    pub path: String,
    secure: bool,
    lifetime_s: u64,
}

impl FromRequest for Visit {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        // Path segments become parts of API paths: only ids, names and
        // report file names, never a query, a fragment or `..`.
        let safe = req.match_info().iter().all(|(_, segment)| {
            !segment.is_empty()
                && !segment.contains("..")
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        });
        if !safe {
            return ready(Err(actix_web::error::ErrorNotFound("no such page")));
        }
        ready(Visit::of(req).ok_or_else(|| {
            actix_web::error::ErrorInternalServerError("the pages are not configured")
        }))
    }
}

impl Visit {
    fn of(req: &HttpRequest) -> Option<Visit> {
        let api = req.app_data::<ApiClient>()?.clone();
        let state = req.app_data::<web::Data<AppState>>()?;
        let cookie = |name: &str| cookie_value(req, name);
        let query_lang = web::Query::<LangQuery>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.into_inner().lang);
        let accept = req
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let cookie_lang = cookie(locale::COOKIE);
        let locale = Locale::choose(query_lang.as_deref(), cookie_lang.as_deref(), accept);
        let (csrf, fresh_csrf) = match cookie(CSRF_COOKIE).filter(|c| c.len() == 32) {
            Some(existing) => (existing, false),
            None => (random_token(), true),
        };
        Some(Visit {
            api,
            token: cookie(SESSION_COOKIE).filter(|t| !t.is_empty()),
            csrf,
            fresh_csrf,
            locale,
            chosen_locale: query_lang.as_deref().and_then(Locale::parse).is_some(),
            peer: req.peer_addr(),
            path: req.path().to_owned(),
            secure: state.settings.secure_cookies,
            lifetime_s: state.keys.lifetime_s(),
        })
    }

    pub fn t(&self, key: Key) -> &'static str {
        text(self.locale, key)
    }

    pub fn amount(&self, amount: &Value, currency: &Value) -> String {
        self.locale.amount(
            amount.as_str().unwrap_or_default(),
            currency.as_str().unwrap_or_default(),
        )
    }

    pub fn date(&self, date: &Value) -> String {
        self.locale.date(date.as_str().unwrap_or_default())
    }

    /// Refuses a form whose `csrf` field is not this visitor's token.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), PageError> {
        if self.fresh_csrf || !constant_time_equal(submitted.as_bytes(), self.csrf.as_bytes()) {
            return Err(self.error(StatusCode::FORBIDDEN, Key::FormExpired));
        }
        Ok(())
    }

    /// Reads `path` from the API as this visitor.
    pub async fn get(&self, path: &str) -> Result<Value, PageError> {
        let answer = self.send(Call::get(path, self.token.as_deref())).await?;
        if answer.is_success() {
            return Ok(answer.json());
        }
        Err(self.refusal(&answer))
    }

    /// Sends a write to the API as this visitor, with a fresh idempotency
    /// key; the answer (success or refusal) is the caller's to show.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Answer, PageError> {
        let key = random_token();
        let mut call = Call::post(path, self.token.as_deref(), body);
        call.idempotency_key = Some(&key);
        self.send(call).await
    }

    /// Sends a change (`PATCH`) to the API as this visitor.
    pub async fn patch(&self, path: &str, body: &Value) -> Result<Answer, PageError> {
        self.send(Call::patch(path, self.token.as_deref(), body))
            .await
    }

    pub async fn send(&self, mut call: Call<'_>) -> Result<Answer, PageError> {
        call.peer = self.peer;
        self.api
            .send(call)
            .await
            .map_err(|_| self.error(StatusCode::INTERNAL_SERVER_ERROR, Key::Broken))
    }

    /// The page for an API refusal of a read.
    pub fn refusal(&self, answer: &Answer) -> PageError {
        match answer.status {
            StatusCode::UNAUTHORIZED => PageError::SignIn(self.path.clone()),
            StatusCode::NOT_FOUND => self.error(StatusCode::NOT_FOUND, Key::NotFound),
            StatusCode::FORBIDDEN => self.error(StatusCode::FORBIDDEN, Key::Forbidden),
            _ => self.error(StatusCode::INTERNAL_SERVER_ERROR, Key::Broken),
        }
    }

    pub fn error(&self, status: StatusCode, key: Key) -> PageError {
        let body = maud::html! { p { (self.t(key)) } };
        PageError::Page(status, self.document(self.t(key), body).into_string())
    }

    /// The whole document around a page's content: language, title,
    /// navigation, skip link, sign-out form.
    pub fn document(&self, title: &str, body: Markup) -> Markup {
        let other = match self.locale {
            super::locale::Locale::En => ("fr", "Français"),
            super::locale::Locale::Fr => ("en", "English"),
        };
        html! {
            (DOCTYPE)
            html lang=(self.locale.code()) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " – " (self.t(Key::AppName)) }
                    link rel="stylesheet" href="/static/web.css";
                }
                body {
                    a.skip href="#main" { (self.t(Key::SkipToContent)) }
                    header {
                        nav aria-label=(self.t(Key::MainNavigation)) {
                            a.brand href="/" { (self.t(Key::AppName)) }
                            @if self.token.is_some() {
                                a href="/me" { (self.t(Key::MyAccount)) }
                                form method="post" action="/sign-out" {
                                    input type="hidden" name="csrf" value=(self.csrf);
                                    button.link type="submit" { (self.t(Key::SignOut)) }
                                }
                            } @else {
                                a href="/sign-in" { (self.t(Key::SignIn)) }
                            }
                            a href={ (self.path) "?lang=" (other.0) } lang=(other.0) hreflang=(other.0) {
                                span.muted { (self.t(Key::Language)) ": " } (other.1)
                            }
                        }
                    }
                    main id="main" {
                        h1 { (title) }
                        (body)
                    }
                    footer { (self.t(Key::HomeIntro)) }
                }
            }
        }
    }

    /// A whole page: the layout around `body`, with the cookies this visit
    /// must set.
    pub fn page(&self, title: &str, body: Markup) -> HttpResponse {
        self.respond(HttpResponse::Ok(), self.document(title, body))
    }

    /// `builder`'s response with `markup` as HTML and this visit's cookies.
    pub fn respond(
        &self,
        mut builder: actix_web::HttpResponseBuilder,
        markup: Markup,
    ) -> HttpResponse {
        self.cookies(&mut builder);
        builder
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(markup.into_string())
    }

    /// A redirect after a form (303), with this visit's cookies.
    pub fn see_other(&self, location: &str) -> HttpResponse {
        let mut builder = HttpResponse::SeeOther();
        self.cookies(&mut builder);
        builder
            .insert_header((header::LOCATION, location.to_owned()))
            .finish()
    }

    fn cookies(&self, builder: &mut actix_web::HttpResponseBuilder) {
        if self.fresh_csrf {
            builder.append_header((
                header::SET_COOKIE,
                self.cookie(CSRF_COOKIE, &self.csrf, None, "Strict"),
            ));
        }
        if self.chosen_locale {
            builder.append_header((
                header::SET_COOKIE,
                self.cookie(
                    locale::COOKIE,
                    self.locale.code(),
                    Some(LANGUAGE_KEPT_S),
                    "Lax",
                ),
            ));
        }
    }

    /// A `Set-Cookie` value with this instance's attributes (`Path=/`,
    /// `HttpOnly`, `Secure` when configured). Values are ours: hex tokens,
    /// JWTs (base64url and dots) and language codes, never needing quotes.
    pub fn cookie(
        &self,
        name: &str,
        value: &str,
        max_age_s: Option<u64>,
        same_site: &str,
    ) -> String {
        let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}");
        if let Some(max_age) = max_age_s {
            cookie.push_str(&format!("; Max-Age={max_age}"));
        }
        if self.secure {
            cookie.push_str("; Secure");
        }
        cookie
    }

    /// The session cookie for `token`, expiring with it.
    pub fn session_cookie(&self, token: &str) -> String {
        self.cookie(SESSION_COOKIE, token, Some(self.lifetime_s), "Lax")
    }

    /// The session cookie's removal.
    pub fn session_removal(&self) -> String {
        self.cookie(SESSION_COOKIE, "", Some(0), "Lax")
    }
}

/// How long a chosen language is remembered: a year.
const LANGUAGE_KEPT_S: u64 = 365 * 24 * 3600;

#[derive(serde::Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

fn cookie_value(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// 16 random bytes, hex-encoded.
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    argon2::password_hash::rand_core::RngCore::fill_bytes(
        &mut argon2::password_hash::rand_core::OsRng,
        &mut bytes,
    );
    hex::encode(bytes)
}

fn constant_time_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A page that cannot be shown as asked: a rendered error page, or the way
/// to the sign-in page.
#[derive(Debug)]
pub enum PageError {
    Page(StatusCode, String),
    SignIn(String),
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageError::Page(status, _) => write!(f, "page refused: {status}"),
            PageError::SignIn(_) => write!(f, "sign-in needed"),
        }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::Page(status, _) => *status,
            PageError::SignIn(_) => StatusCode::SEE_OTHER,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            PageError::Page(status, html) => HttpResponse::build(*status)
                .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body(html.clone()),
            PageError::SignIn(next) => HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/sign-in?next={}", encode(next))))
                .finish(),
        }
    }
}

/// Percent-encodes a path for a query parameter.
pub fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'-' | b'_' | b'.') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
