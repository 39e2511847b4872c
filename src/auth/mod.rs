//! Authentication: access tokens (JWT), password hashing, login rate limits
//! and the extractor that turns an `Authorization` header into credentials.
//! Authorization decisions live in `domain::access`.

pub mod hashers;
pub mod jwt;
pub mod password;
pub mod rate_limit;

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};

pub use jwt::{AuthError, Claims, TokenKeys};

/// The verified claims of the request's bearer token, if it sent one. A
/// token that is present but invalid is refused here (401), even on
/// endpoints that would serve an anonymous caller.
#[derive(Debug, Clone)]
pub struct Credentials(pub Option<Claims>);

impl FromRequest for Credentials {
    type Error = AuthError;
    type Future = Ready<Result<Self, AuthError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(credentials(req))
    }
}

fn credentials(req: &HttpRequest) -> Result<Credentials, AuthError> {
    let Some(header) = req.headers().get(AUTHORIZATION) else {
        return Ok(Credentials(None));
    };
    let keys = req
        .app_data::<web::Data<TokenKeys>>()
        .ok_or(AuthError::Misconfigured)?;
    let header = header.to_str().map_err(|_| AuthError::Malformed)?;
    let token = header
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
        .ok_or(AuthError::Malformed)?;
    keys.verify(token).map(|claims| Credentials(Some(claims)))
}

impl Credentials {
    /// The claims, or 401 when no token was sent.
    pub fn required(&self) -> Result<&Claims, AuthError> {
        self.0.as_ref().ok_or(AuthError::Missing)
    }
}

/// Credentials that must be present: extracted before the body, so an
/// anonymous write is refused with 401 whatever it sends.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Credentials);

impl FromRequest for Authenticated {
    type Error = AuthError;
    type Future = Ready<Result<Self, AuthError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            credentials(req).and_then(|credentials| match credentials.0 {
                Some(_) => Ok(Authenticated(credentials)),
                None => Err(AuthError::Missing),
            }),
        )
    }
}
