//! The application state every handler and middleware can reach: the
//! database, the settings, the token keys, the sign-in limits, the password
//! hashers, the metrics, the write pipeline and the bundles' signing key.

use std::sync::Arc;

use super::reply::Writes;
use crate::auth::TokenKeys;
use crate::auth::hashers::Hashers;
use crate::auth::rate_limit::LoginLimiter;
use crate::config::RuntimeSettings;
use crate::db::Database;
use crate::domain::bundle::InstanceKey;
use crate::metrics::Metrics;

/// What every handler can reach.
pub struct AppState {
    pub db: Arc<Database>,
    pub settings: RuntimeSettings,
    pub keys: TokenKeys,
    pub login_limiter: LoginLimiter,
    /// Where every password hash runs (bounded in number and memory).
    pub hashers: Arc<Hashers>,
    pub metrics: Metrics,
    /// Where write requests go to share a database transaction.
    pub writes: Writes,
    /// The instance's key that signs report bundles.
    pub signing_key: Arc<InstanceKey>,
}
