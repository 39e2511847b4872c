//! Request extraction that answers in problem JSON: JSON bodies (size-limited,
//! with a fingerprint for idempotency), the `Idempotency-Key` header and
//! cursor pagination.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::codes::FieldCode;
use super::problem::{ApiError, FieldError};
use crate::domain::AccountName;

/// Longest `Idempotency-Key` accepted, in bytes.
pub const IDEMPOTENCY_KEY_LENGTH_MAX: usize = 255;
/// Page size when `limit` is not given.
pub const PAGE_SIZE_DEFAULT: u32 = 100;
/// Largest page a client may ask for; a larger `limit` is refused, not clamped.
pub const PAGE_SIZE_MAX: u32 = 1_000;

/// A JSON body parsed into `T`, with a fingerprint of the request (method,
/// path and the canonical form of the JSON) for idempotency checks.
pub struct JsonBody<T> {
    pub value: T,
    pub fingerprint: String,
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let bytes = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let bytes = bytes.await.map_err(|error| body_error(&req, error))?;
            parse_json(&req, &bytes)
        })
    }
}

/// Whether the request's media type (its `Content-Type` before any
/// parameter, trimmed) is one `accepts` takes; a request without one has
/// none it takes. The JSON bodies and the CSV upload read it alike.
pub fn media_type_is(req: &HttpRequest, accepts: impl FnOnce(&str) -> bool) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| accepts(mime.trim()))
}

/// Parses `bytes` as JSON. An empty body counts as `{}` so that optional
/// bodies (a reversal's) may be omitted.
fn parse_json<T: DeserializeOwned>(
    req: &HttpRequest,
    bytes: &[u8],
) -> Result<JsonBody<T>, ApiError> {
    let value: serde_json::Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Object(serde_json::Map::new())
    } else {
        let is_json = media_type_is(req, |mime| {
            let mime = mime.to_ascii_lowercase();
            mime == "application/json" || mime.ends_with("+json")
        });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType("application/json"));
        }
        serde_json::from_slice(bytes).map_err(|e| ApiError::MalformedJson(e.to_string()))?
    };
    if let Some(path) = nul_in(&value, String::new()) {
        return Err(ApiError::field(
            path,
            FieldCode::InvalidCharacter,
            "text may not contain the NUL character (U+0000)",
        ));
    }
    let fingerprint = fingerprint(req, &value);
    let value = T::deserialize(value).map_err(|e| ApiError::InvalidBody(e.to_string()))?;
    Ok(JsonBody { value, fingerprint })
}

/// The path of the first string (or key) holding U+0000, which neither
/// backend can store as text.
fn nul_in(value: &serde_json::Value, path: String) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(text) if text.contains('\0') => Some(path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_in(item, format!("{path}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let inner = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key.contains('\0') {
                Some(inner)
            } else {
                nul_in(item, inner)
            }
        }),
        _ => None,
    }
}

/// Refuses a request whose path or query holds an encoded NUL (`%00`):
/// no identifier or filter contains one, and neither backend stores it.
pub async fn refuse_nul(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let uri = req.uri().to_string();
    if uri.contains("%00") || uri.contains('\0') {
        return Err(ApiError::InvalidQuery(
            "the path or query contains the NUL character (%00)".to_owned(),
        )
        .into());
    }
    next.call(req).await
}

/// With the write pipeline's test hooks on, injects the fault a request's
/// [`FAULT_HEADER`](crate::write_pipeline::FAULT_HEADER) names into the write
/// it submits. Without test hooks (always, outside the test harness) the
/// header is ignored.
pub async fn inject_fault(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    use crate::write_pipeline::{FAULT_HEADER, Fault, with_fault};
    let hooked = req
        .app_data::<actix_web::web::Data<crate::http::state::AppState>>()
        .is_some_and(|state| state.settings.test_hooks.is_some());
    let fault = req
        .headers()
        .get(FAULT_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(Fault::parse);
    match fault {
        Some(fault) if hooked => with_fault(fault, next.call(req)).await,
        _ => next.call(req).await,
    }
}

fn fingerprint(req: &HttpRequest, value: &serde_json::Value) -> String {
    // serde_json keeps object keys sorted, so this text is canonical.
    request_fingerprint(req, value.to_string().as_bytes())
}

/// What identifies a request for its idempotency key: method, path and body.
pub fn request_fingerprint(req: &HttpRequest, body: &[u8]) -> String {
    fingerprint_of(req.method().as_str(), req.path(), body)
}

/// The fingerprint of a request by `method` to `path` with `body`.
pub fn fingerprint_of(method: &str, path: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method);
    hasher.update(b"\n");
    hasher.update(path);
    hasher.update(b"\n");
    hasher.update(body);
    hex::encode(hasher.finalize())
}

fn body_error(req: &HttpRequest, error: actix_web::Error) -> ApiError {
    if error.as_response_error().status_code() == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(super::body_limit(req))
    } else {
        ApiError::MalformedJson(error.to_string())
    }
}

/// The optional `Idempotency-Key` header of a POST: 1 to
/// [`IDEMPOTENCY_KEY_LENGTH_MAX`] visible ASCII characters (`^[!-~]+$`, as
/// the OpenAPI document states). A space or a tab, which HTTP allows inside
/// a header value, is refused with the rest (400 `invalid_idempotency_key`).
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(match req.headers().get("Idempotency-Key") {
            None => Ok(IdempotencyKey(None)),
            Some(value) => parse_idempotency_key(value.as_bytes())
                .map(Some)
                .map(IdempotencyKey),
        })
    }
}

/// Checks an `Idempotency-Key` header's bytes against `^[!-~]+$`, 1 to
/// [`IDEMPOTENCY_KEY_LENGTH_MAX`] long.
pub fn parse_idempotency_key(bytes: &[u8]) -> Result<String, ApiError> {
    if bytes.is_empty() || bytes.len() > IDEMPOTENCY_KEY_LENGTH_MAX {
        return Err(ApiError::InvalidIdempotencyKey(format!(
            "it must be 1 to {IDEMPOTENCY_KEY_LENGTH_MAX} characters"
        )));
    }
    if !bytes.iter().all(|byte| (b'!'..=b'~').contains(byte)) {
        return Err(ApiError::InvalidIdempotencyKey(
            "it must be visible ASCII (`!` to `~`), without spaces or tabs".to_owned(),
        ));
    }
    String::from_utf8(bytes.to_vec())
        .map_err(|_| ApiError::InvalidIdempotencyKey("it must be visible ASCII".to_owned()))
}

/// Validates `limit` (1..=PAGE_SIZE_MAX, default PAGE_SIZE_DEFAULT).
pub fn page_size(limit: Option<u32>) -> Result<i64, ApiError> {
    match limit.unwrap_or(PAGE_SIZE_DEFAULT) {
        size @ 1..=PAGE_SIZE_MAX => Ok(i64::from(size)),
        other => Err(ApiError::InvalidQuery(format!(
            "limit must be between 1 and {PAGE_SIZE_MAX}, got {other}"
        ))),
    }
}

/// Cursors are opaque to clients: the hex of the last item's sort key.
pub fn encode_cursor(key: &str) -> String {
    hex::encode(key)
}

/// The sort key a list's cursor carries, and so the only shape its cursor
/// may decode to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorKey {
    /// An id, as the service writes them: a UUID, hyphenated, lower-case.
    Id,
    /// An account name (the rules of `AccountName`).
    AccountName,
}

/// Decodes a cursor of a list sorted by text (`key`), refusing with 400
/// `invalid_cursor`, before anything reaches the database, a cursor that
/// is not hex, not UTF-8, or decodes to anything but a key of that shape
/// (so no NUL, no control character, nothing PostgreSQL could refuse).
pub fn decode_cursor(cursor: Option<&str>, key: CursorKey) -> Result<Option<String>, ApiError> {
    cursor
        .map(|text| {
            let decoded = decode_cursor_text(text)?;
            let valid = match key {
                CursorKey::Id => uuid::Uuid::try_parse(&decoded)
                    .is_ok_and(|id| id.hyphenated().to_string() == decoded),
                CursorKey::AccountName => crate::domain::AccountName::parse(&decoded)
                    .is_ok_and(|name| name.as_str() == decoded),
            };
            if valid {
                Ok(decoded)
            } else {
                Err(ApiError::InvalidCursor)
            }
        })
        .transpose()
}

/// Decodes a cursor of a list sorted by a number (a sequence, a version):
/// decimal digits only, within the type's range, else 400 `invalid_cursor`.
pub fn decode_number_cursor<T: std::str::FromStr>(
    cursor: Option<&str>,
) -> Result<Option<T>, ApiError> {
    cursor
        .map(|text| {
            let decoded = decode_cursor_text(text)?;
            if !decoded.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ApiError::InvalidCursor);
            }
            decoded.parse().map_err(|_| ApiError::InvalidCursor)
        })
        .transpose()
}

/// The text a cursor's hex encodes: non-empty UTF-8.
fn decode_cursor_text(cursor: &str) -> Result<String, ApiError> {
    hex::decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|key| !key.is_empty())
        .ok_or(ApiError::InvalidCursor)
}

/// The next cursor of a page: the last item's key when the page is full.
pub fn next_cursor<T>(items: &[T], limit: i64, key: impl Fn(&T) -> String) -> Option<String> {
    if i64::try_from(items.len()).unwrap_or(i64::MAX) < limit {
        return None;
    }
    items.last().map(|item| encode_cursor(&key(item)))
}

/// Handler for errors of actix's own `Query` and `Path` extractors.
pub fn query_error(
    error: actix_web::error::QueryPayloadError,
    _: &HttpRequest,
) -> actix_web::Error {
    ApiError::InvalidQuery(error.to_string()).into()
}

pub fn path_error(error: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    ApiError::InvalidPath(error.to_string()).into()
}

/// Earliest year of a business date. Nothing this ledger records predates
/// it, and every export format (hledger's journal among them) reads it.
pub const DATE_YEAR_MIN: i32 = 1900;
/// Latest year of a business date: beyond any grant period, near enough that
/// a mistyped year (`2620-01-01`) is refused rather than booked.
pub const DATE_YEAR_MAX: i32 = 2200;

/// Length of a business date's text, `YYYY-MM-DD`.
pub const DATE_LENGTH: usize = 10;

/// Parses a business date, `YYYY-MM-DD` with a year from [`DATE_YEAR_MIN`]
/// to [`DATE_YEAR_MAX`], naming the field when it is not one. chrono alone
/// would read `-001-01-01` (the year 2 BC), which breaks the exports.
pub fn parse_date(
    field: &str,
    text: &str,
) -> Result<chrono::NaiveDate, super::problem::FieldError> {
    use chrono::Datelike;
    if text.len() != DATE_LENGTH {
        return Err(super::problem::FieldError::new(
            field,
            FieldCode::InvalidDate,
            "a date is written YYYY-MM-DD (10 characters)",
        ));
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|_| text.as_bytes().first().is_some_and(u8::is_ascii_digit))
        .ok_or_else(|| {
            super::problem::FieldError::new(
                field,
                FieldCode::InvalidDate,
                format!("`{text}` is not a date in YYYY-MM-DD form"),
            )
        })?;
    if !(DATE_YEAR_MIN..=DATE_YEAR_MAX).contains(&date.year()) {
        return Err(super::problem::FieldError::new(
            field,
            FieldCode::InvalidDate,
            format!("a date is between {DATE_YEAR_MIN}-01-01 and {DATE_YEAR_MAX}-12-31"),
        ));
    }
    Ok(date)
}

/// The date `text` of the body's `field`, or `None` with its problem added
/// to `errors`, so that a request's other fields are still checked and
/// every problem is answered at once.
pub fn date_field(
    field: &str,
    text: &str,
    errors: &mut Vec<FieldError>,
) -> Option<chrono::NaiveDate> {
    parse_date(field, text).map_err(|e| errors.push(e)).ok()
}

/// The body's optional date `field`, if given (422 `invalid_date` alone
/// when it is not a date).
pub fn optional_date(
    field: &str,
    text: Option<&str>,
) -> Result<Option<chrono::NaiveDate>, ApiError> {
    text.map(|t| parse_date(field, t).map_err(|e| ApiError::Validation(vec![e])))
        .transpose()
}

/// The account name `text`, or a problem with `field`.
pub fn account_name(
    field: impl Into<String>,
    text: &str,
    errors: &mut Vec<FieldError>,
) -> Option<AccountName> {
    AccountName::parse(text)
        .map_err(|e| errors.push(FieldError::new(field, FieldCode::InvalidAccountName, e)))
        .ok()
}

/// A date filter of a query (`YYYY-MM-DD`), if given (400 `invalid_query`).
pub fn query_date(field: &str, text: Option<&str>) -> Result<Option<chrono::NaiveDate>, ApiError> {
    text.map(|t| parse_date(field, t).map_err(|e| ApiError::InvalidQuery(e.message)))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_decode_only_to_keys_of_their_list() {
        let id = "01a21ef2-a45e-75d0-ae2f-2fd83ccd1ad8";
        let issued = encode_cursor(id);
        assert_eq!(
            decode_cursor(Some(&issued), CursorKey::Id).ok(),
            Some(Some(id.to_owned())),
            "an issued id cursor round-trips"
        );
        assert_eq!(
            decode_cursor(
                Some(&encode_cursor("pool:grant:FH-2026-017")),
                CursorKey::AccountName
            )
            .ok(),
            Some(Some("pool:grant:FH-2026-017".to_owned()))
        );
        assert_eq!(
            decode_number_cursor::<i64>(Some(&encode_cursor("42"))).ok(),
            Some(Some(42))
        );
        assert!(matches!(decode_cursor(None, CursorKey::Id), Ok(None)));
        let refused = [
            ("00", "NUL"),
            ("", "empty"),
            ("zz", "not hex"),
            ("0", "odd length"),
            ("ff", "not UTF-8"),
            ("0a", "a control character"),
        ];
        for (cursor, rule) in refused {
            for key in [CursorKey::Id, CursorKey::AccountName] {
                assert!(
                    matches!(
                        decode_cursor(Some(cursor), key),
                        Err(ApiError::InvalidCursor)
                    ),
                    "{rule} ({key:?})"
                );
            }
            assert!(
                matches!(
                    decode_number_cursor::<i64>(Some(cursor)),
                    Err(ApiError::InvalidCursor)
                ),
                "{rule} (number)"
            );
        }
        let wrong_shape = [
            (
                encode_cursor("01A21EF2-A45E-75D0-AE2F-2FD83CCD1AD8"),
                CursorKey::Id,
            ),
            (encode_cursor(&format!("{id}\0")), CursorKey::Id),
            (encode_cursor("pool:general"), CursorKey::Id),
            (encode_cursor("pool:\0general"), CursorKey::AccountName),
            (encode_cursor(":pool"), CursorKey::AccountName),
        ];
        for (cursor, key) in wrong_shape {
            assert!(
                matches!(
                    decode_cursor(Some(&cursor), key),
                    Err(ApiError::InvalidCursor)
                ),
                "{cursor} is not a {key:?}"
            );
        }
        for number in ["-1", "+1", "1 ", "99999999999999999999", "1\0"] {
            assert!(
                matches!(
                    decode_number_cursor::<i64>(Some(&encode_cursor(number))),
                    Err(ApiError::InvalidCursor)
                ),
                "`{number}` is not a sequence"
            );
        }
    }
}
