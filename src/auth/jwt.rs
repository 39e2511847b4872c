//! Access tokens: HS256 JWTs signed with the instance secret, and optionally
//! RS256 or EdDSA tokens of an external identity provider.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use serde::{Deserialize, Serialize};

/// Shortest signing secret accepted: HS256 needs at least 256 bits of key.
pub const JWT_SECRET_LENGTH_MIN: usize = 32;
/// Clock skew tolerated when checking `exp`, `nbf` and `iat`, in seconds.
pub const TOKEN_LEEWAY_S: u64 = 30;

/// Claims of the tokens this service issues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The agent id (or, for external tokens, the provider's subject).
    pub sub: String,
    pub iat: u64,
    pub exp: u64,
    pub iss: String,
    pub aud: String,
    /// The agent's token version when issued; tokens of an older version are revoked.
    #[serde(default)]
    pub ver: Option<i64>,
    /// The token's own id, on tokens this service issues: a signed-out
    /// token is revoked by it (`DELETE /v1/auth/token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// For external tokens: the email that identifies the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Set by this service on tokens it verified with the external key.
    #[serde(skip)]
    pub external: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("this endpoint needs a bearer token")]
    Missing,
    #[error("the Authorization header must be `Bearer <token>`")]
    Malformed,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid: {0}")]
    Invalid(&'static str),
    #[error("the token has been revoked; sign in again")]
    Revoked,
    #[error("the token names no agent of this service")]
    UnknownAgent,
    #[error("the service has no token keys configured")]
    Misconfigured,
}

/// An external identity provider whose tokens are accepted.
#[derive(Clone)]
pub struct ExternalIssuer {
    pub key: DecodingKey,
    pub validation: Validation,
}

/// Keys and validation rules for access tokens.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    lifetime_s: u64,
    external: Option<ExternalIssuer>,
}

/// Validation with every option spelt out: one algorithm, the issuer, the
/// audience, the claims that must be present and a small leeway.
pub fn validation(algorithm: Algorithm, issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.algorithms = vec![algorithm];
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
    validation.leeway = TOKEN_LEEWAY_S;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = true;
    validation
}

impl TokenKeys {
    /// Keys for HS256 tokens signed with `secret` (at least 32 bytes).
    pub fn new(
        secret: &[u8],
        issuer: &str,
        audience: &str,
        lifetime_s: u64,
    ) -> Result<Self, String> {
        if secret.len() < JWT_SECRET_LENGTH_MIN {
            return Err(format!(
                "the JWT secret is {} bytes long; HS256 needs at least {JWT_SECRET_LENGTH_MIN} bytes (256 bits) \
                 so that tokens cannot be forged by guessing it",
                secret.len()
            ));
        }
        Ok(TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation: validation(Algorithm::HS256, issuer, audience),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            lifetime_s,
            external: None,
        })
    }

    /// Also accept tokens of an external provider, verified with its public key.
    pub fn with_external(mut self, external: ExternalIssuer) -> Self {
        self.external = Some(external);
        self
    }

    pub fn lifetime_s(&self) -> u64 {
        self.lifetime_s
    }

    /// Issues a token for `agent_id` at token version `version`.
    pub fn issue(&self, agent_id: &str, version: i64) -> Result<String, AuthError> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: agent_id.to_owned(),
            iat: now,
            exp: now + self.lifetime_s,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            ver: Some(version),
            jti: Some(uuid::Uuid::now_v7().simple().to_string()),
            email: None,
            external: false,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| AuthError::Misconfigured)
    }

    /// Verifies a token: ours (HS256) or, if configured, the external
    /// provider's. The header's `alg` only picks which of the two to try;
    /// each is checked against its own single allowed algorithm, so `none`
    /// or a swapped algorithm never passes.
    ///
    /// Beyond what jsonwebtoken checks: a header with `crit` is refused (RFC
    /// 7515 §4.1.11: a recipient that does not understand a critical
    /// extension must refuse the token, and this service understands none),
    /// and so is a token issued in the future (`iat` later than now plus
    /// [`TOKEN_LEEWAY_S`]), which no honest issuer produces.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let header = decode_header(token).map_err(|_| AuthError::Invalid("malformed token"))?;
        if header.crit.is_some() {
            return Err(AuthError::Invalid("unsupported critical header"));
        }
        let claims = match &self.external {
            Some(external) if header.alg != Algorithm::HS256 => {
                let mut claims = decode::<Claims>(token, &external.key, &external.validation)
                    .map_err(map_error)?
                    .claims;
                claims.external = true;
                claims
            }
            _ => {
                let claims = decode::<Claims>(token, &self.decoding, &self.validation)
                    .map_err(map_error)?
                    .claims;
                if claims.ver.is_none() {
                    return Err(AuthError::Invalid("missing token version"));
                }
                claims
            }
        };
        let now = jsonwebtoken::get_current_timestamp();
        if claims.iat > now.saturating_add(TOKEN_LEEWAY_S) {
            return Err(AuthError::Invalid("issued in the future"));
        }
        Ok(claims)
    }
}

fn map_error(error: jsonwebtoken::errors::Error) -> AuthError {
    match error.kind() {
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::InvalidSignature => AuthError::Invalid("bad signature"),
        ErrorKind::InvalidAudience => AuthError::Invalid("wrong audience"),
        ErrorKind::InvalidIssuer => AuthError::Invalid("wrong issuer"),
        ErrorKind::InvalidAlgorithm => AuthError::Invalid("algorithm not allowed"),
        ErrorKind::ImmatureSignature => AuthError::Invalid("not valid yet"),
        ErrorKind::MissingRequiredClaim(_) => AuthError::Invalid("missing claim"),
        _ => AuthError::Invalid("malformed token"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(&[7u8; 32], "commons-ledger", "commons-ledger", 3600).expect("keys")
    }

    #[test]
    fn short_secrets_are_refused_with_the_reason() {
        let error = TokenKeys::new(b"too short", "i", "a", 60)
            .err()
            .expect("refused");
        assert!(error.contains("at least 32 bytes"), "{error}");
    }

    #[test]
    fn issued_tokens_verify_and_tampering_fails() {
        let keys = keys();
        let token = keys.issue("agent-1", 3).expect("token");
        let claims = keys.verify(&token).expect("valid");
        assert_eq!((claims.sub.as_str(), claims.ver), ("agent-1", Some(3)));
        let other =
            TokenKeys::new(&[8u8; 32], "commons-ledger", "commons-ledger", 3600).expect("keys");
        assert_eq!(
            other.verify(&token),
            Err(AuthError::Invalid("bad signature"))
        );
        let foreign =
            TokenKeys::new(&[7u8; 32], "commons-ledger", "someone-else", 3600).expect("keys");
        assert_eq!(
            foreign.verify(&keys.issue("a", 0).expect("t")).err(),
            Some(AuthError::Invalid("wrong audience"))
        );
    }

    fn signed(header: Header, claims: serde_json::Value) -> String {
        encode(&header, &claims, &EncodingKey::from_secret(&[7u8; 32])).expect("token")
    }

    fn claims_issued_at(iat: u64) -> serde_json::Value {
        serde_json::json!({"sub": "agent-1", "iat": iat, "exp": iat + 3600,
            "iss": "commons-ledger", "aud": "commons-ledger", "ver": 0})
    }

    #[test]
    fn tokens_issued_in_the_future_are_refused_beyond_the_leeway() {
        let now = jsonwebtoken::get_current_timestamp();
        let header = Header::new(Algorithm::HS256);
        let cases = [
            (now, Ok(())),
            (now + TOKEN_LEEWAY_S / 2, Ok(())),
            (
                now + TOKEN_LEEWAY_S + 60,
                Err(AuthError::Invalid("issued in the future")),
            ),
            (
                now + 86_400,
                Err(AuthError::Invalid("issued in the future")),
            ),
        ];
        for (iat, expected) in cases {
            let got = keys()
                .verify(&signed(header.clone(), claims_issued_at(iat)))
                .map(|_| ());
            assert_eq!(got, expected, "iat {} s from now", iat.saturating_sub(now));
        }
    }

    #[test]
    fn critical_headers_are_refused() {
        let now = jsonwebtoken::get_current_timestamp();
        for crit in [
            vec!["exp".to_owned()],
            vec!["b64".to_owned()],
            vec!["x-unknown".to_owned()],
        ] {
            let mut header = Header::new(Algorithm::HS256);
            header.crit = Some(crit.clone());
            assert_eq!(
                keys().verify(&signed(header, claims_issued_at(now))),
                Err(AuthError::Invalid("unsupported critical header")),
                "crit {crit:?}"
            );
        }
        assert!(
            keys()
                .verify(&signed(
                    Header::new(Algorithm::HS256),
                    claims_issued_at(now)
                ))
                .is_ok(),
            "the same token without crit is accepted"
        );
    }

    #[test]
    fn unsigned_tokens_are_refused() {
        // {"alg":"none","typ":"JWT"} . claims . (no signature)
        let header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
        let claims = "eyJzdWIiOiJhIiwiaWF0IjoxLCJleHAiOjQxMDI0NDQ4MDAsImlzcyI6ImNvbW1vbnMtbGVkZ2VyIiwiYXVkIjoiY29tbW9ucy1sZWRnZXIiLCJ2ZXIiOjB9";
        assert!(keys().verify(&format!("{header}.{claims}.")).is_err());
    }
}
