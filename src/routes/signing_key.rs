//! `/v1/signing-key`: the public half of the instance's key that signs
//! report bundles, published so that a funder can compare it with the key
//! a bundle carries (a bundle's own key proves integrity, not origin).

use actix_web::{HttpResponse, get, web};
use commons_ledger_macros::operation;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::http::problem::Problem;
use crate::http::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_signing_key);
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SigningKeyResponse {
    /// Always `Ed25519`.
    #[schema(example = "Ed25519")]
    pub algorithm: String,
    /// The public key, SPKI PEM: byte for byte the `public-key.pem` of a
    /// bundle signed with it.
    pub public_key_pem: String,
    /// The SHA-256 of the key's SPKI DER encoding, in hex: the `key_id` a
    /// bundle's manifest names.
    #[schema(min_length = 64, max_length = 64)]
    pub key_id: String,
}

/// The bundle-signing public key
///
/// The instance's Ed25519 public key for report bundles. Public: anyone holding
/// a bundle may compare its key with this one.
#[operation(get "/signing-key", tag = "reports", security(()),
    responses(
        200 SigningKeyResponse "The public key",
        400 "`invalid_query`: the path or query holds NUL (`%00`), refused for every request",
    ))]
pub async fn get_signing_key(state: web::Data<AppState>) -> HttpResponse {
    let key = &state.signing_key;
    HttpResponse::Ok().json(SigningKeyResponse {
        algorithm: "Ed25519".to_owned(),
        public_key_pem: key.public_key_pem().to_owned(),
        key_id: key.key_id().to_owned(),
    })
}
