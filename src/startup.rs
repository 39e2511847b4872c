//! Wiring: database, migrations, routes, OpenAPI and the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpServer, web};
use utoipa::OpenApi;
use utoipa_actix_web::{AppExt, scope};
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::TokenKeys;
use crate::auth::hashers::{HasherLimits, Hashers};
use crate::auth::jwt::{ExternalIssuer, validation};
use crate::auth::rate_limit::LoginLimiter;
use crate::config::{RuntimeSettings, Settings};
use crate::db::{Database, DatabaseUrl, StorageError};
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::routes::{self, extract, health};
use crate::write_pipeline;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "commons-ledger",
        description = "Double-entry books for citizen-science and open-science commons: \
            projects, accounts, transactions, balances. Errors are RFC 9457 problem \
            documents with a stable `code`. Every POST accepts an `Idempotency-Key`.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later"),
        contact(name = "commons-ledger maintainers"),
    ),
    modifiers(&BearerSecurity),
    servers((url = "/", description = "This instance")),
    tags(
        (name = "auth", description = "Signing in and the caller"),
        (name = "agents", description = "People and organisations"),
        (name = "members", description = "Project members and their roles"),
        (name = "projects", description = "Projects, each with its own ledger"),
        (name = "funds", description = "Grants, donations, expenses, payouts and exchanges"),
        (name = "contributions", description = "Valuation rates, contributions, reviews and value accounts"),
        (name = "distributions", description = "Redistribution rule sets and distribution runs"),
        (name = "reports", description = "Exports a funder can check: CSV, hledger and signed bundles"),
        (name = "accounts", description = "Accounts and balances"),
        (name = "transactions", description = "Posting, listing and reversing transactions"),
        (name = "ledger", description = "The ledger's integrity: its verification and the audit trail"),
        (name = "health", description = "Probes"),
    )
)]
struct ApiDoc;

/// Declares the bearer-token scheme the operations refer to.
struct BearerSecurity;

impl utoipa::Modify for BearerSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from `POST /v1/auth/token`"))
                    .build(),
            ),
        );
    }
}

/// Name of the generated secret's file, beside the SQLite database.
pub const JWT_SECRET_FILE: &str = "jwt-secret";

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{0}")]
    Config(String),
    #[error("cannot start the committer threads: {0}")]
    Threads(std::io::Error),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
}

/// Builds the routed application. The same function serves requests and
/// produces the OpenAPI document, so the two cannot drift.
fn application(
    state: Option<web::Data<AppState>>,
) -> (
    App<
        impl actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
            Error = actix_web::Error,
            InitError = (),
        >,
    >,
    utoipa::openapi::OpenApi,
) {
    let body_limit = state.as_ref().map_or(0, |s| s.settings.body_limit_bytes);
    let mut app = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .app_data(web::PayloadConfig::new(body_limit))
        .app_data(web::QueryConfig::default().error_handler(extract::query_error))
        .app_data(web::PathConfig::default().error_handler(extract::path_error));
    if let Some(state) = state {
        let for_pages = state.clone();
        let build: crate::web::api::Build = std::rc::Rc::new(move || {
            let state = for_pages.clone();
            Box::pin(dispatcher(state))
        });
        app = app
            .app_data(web::Data::new(state.keys.clone()))
            .app_data(crate::web::api::ApiClient::new(build))
            .app_data(state);
    }
    let (app, mut api) = app
        .service(health::get_health)
        .service(health::get_readiness)
        .service(routes::metrics::get_metrics)
        .service(scope::scope("/v1").configure(routes::configure))
        .split_for_parts();
    crate::http::openapi::complete_operations(&mut api);
    crate::http::openapi::describe_path_parameters(&mut api);
    crate::http::openapi::exact_schemas(&mut api);
    let allowed = web::Data::new(AllowedMethods::of(&api));
    let app = app
        .app_data(allowed)
        .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", api.clone()))
        .route("/docs", web::get().to(docs_redirect))
        .configure(crate::web::configure)
        .default_service(web::to(not_found))
        .wrap(from_fn(extract::inject_fault))
        .wrap(from_fn(crate::http::read_only::refuse_writes))
        .wrap(from_fn(extract::refuse_nul))
        .wrap(from_fn(crate::telemetry::log_request))
        .wrap(from_fn(routes::metrics::measure))
        .wrap(from_fn(crate::http::audit::assign_request_id));
    (app, api)
}

/// The routed application, initialised in process, as the pages and the
/// demo call it (see [`crate::web::api`]).
pub async fn dispatcher(state: web::Data<AppState>) -> crate::web::api::Dispatch {
    crate::web::api::dispatcher(application(Some(state)).0).await
}

/// The methods of every path template of the API, for `Allow` headers.
struct AllowedMethods(Vec<(Vec<String>, String)>);

impl AllowedMethods {
    fn of(api: &utoipa::openapi::OpenApi) -> Self {
        let mut routes = Vec::new();
        for (path, item) in &api.paths.paths {
            let value = serde_json::to_value(item).unwrap_or_default();
            let mut methods: Vec<String> = value
                .as_object()
                .map(|o| {
                    o.keys()
                        .filter(|k| {
                            matches!(k.as_str(), "get" | "post" | "put" | "patch" | "delete")
                        })
                        .map(|k| k.to_uppercase())
                        .collect()
                })
                .unwrap_or_default();
            methods.sort();
            let segments = path.split('/').map(str::to_owned).collect();
            routes.push((segments, methods.join(", ")));
        }
        AllowedMethods(routes)
    }

    /// The methods of the template `path` matches (`{…}` matches a segment).
    fn of_path(&self, path: &str) -> Option<&str> {
        let segments: Vec<&str> = path.split('/').collect();
        self.0.iter().find_map(|(template, methods)| {
            let matches = template.len() == segments.len()
                && template.iter().zip(&segments).all(|(t, s)| {
                    t == s
                        || (t.starts_with('{') && !s.is_empty())
                        || (t.contains('{') && t.ends_with(".csv") && s.ends_with(".csv"))
                });
            matches.then_some(methods.as_str())
        })
    }
}

/// Answers requests no route took: 405 with `Allow` when the path exists
/// with other methods, 404 otherwise.
async fn not_found(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    if req.resource_map().has_resource(req.path()) {
        let allowed = req
            .app_data::<web::Data<AllowedMethods>>()
            .and_then(|routes| routes.of_path(req.path()).map(str::to_owned))
            .unwrap_or_default();
        return Err(ApiError::MethodNotAllowed(
            req.method().to_string(),
            allowed,
        ));
    }
    Err(ApiError::RouteNotFound)
}

/// `/docs` without the slash leads to Swagger UI.
async fn docs_redirect() -> actix_web::HttpResponse {
    actix_web::HttpResponse::PermanentRedirect()
        .insert_header((actix_web::http::header::LOCATION, "/docs/"))
        .finish()
}

/// The OpenAPI document, as served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    application(None).1
}

/// A bound, ready-to-run server.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    /// Connects to the database, applies migrations and binds the listener.
    pub fn build(settings: &Settings) -> Result<Self, StartupError> {
        let url = DatabaseUrl::parse(&settings.database_url)?;
        // Keys first: a bad secret is refused before anything touches the database.
        let keys = token_keys(settings, &url)?;
        let db = Database::connect_with(
            &url,
            settings.pool_size,
            Duration::from_millis(settings.lock_timeout_ms),
        )?;
        if settings.read_only {
            // A replica cannot be migrated, and a binary must not serve a
            // schema it does not know: the primary is migrated first.
            let pending = db.pending_migrations()?;
            if !pending.is_empty() {
                return Err(StartupError::Config(format!(
                    "--read-only: the database's schema is behind this binary ({} migration(s) \
                     not applied, the first `{}`); migrate the primary first",
                    pending.len(),
                    pending[0]
                )));
            }
        } else {
            crate::db::migrate_for(&db, settings.migration_database_url.as_deref())?;
        }
        let listener = TcpListener::bind(&settings.bind).map_err(|source| StartupError::Bind {
            address: settings.bind.clone(),
            source,
        })?;
        Self::from_parts(
            Arc::new(db),
            listener,
            settings.runtime(),
            keys,
            settings.workers,
        )
    }

    /// Serves an already connected and migrated database on `listener`.
    pub fn from_parts(
        db: Arc<Database>,
        listener: TcpListener,
        settings: RuntimeSettings,
        keys: TokenKeys,
        workers: Option<usize>,
    ) -> Result<Self, StartupError> {
        let limits = HasherLimits::from_memory(
            settings.password_hash_memory_mib,
            settings.password_hash_queue,
            settings.password_hash_wait,
        )
        .map_err(StartupError::Config)?;
        let hashers = Hashers::start(limits).map_err(StartupError::Config)?;
        Self::from_parts_with_hashers(db, listener, settings, keys, workers, Arc::new(hashers))
    }

    /// `from_parts` with the given password hashers (which tests hold).
    pub fn from_parts_with_hashers(
        db: Arc<Database>,
        listener: TcpListener,
        settings: RuntimeSettings,
        keys: TokenKeys,
        workers: Option<usize>,
        hashers: Arc<Hashers>,
    ) -> Result<Self, StartupError> {
        let address = listener.local_addr().map_err(|source| StartupError::Bind {
            address: "listener".to_owned(),
            source,
        })?;
        let login_limiter = LoginLimiter::new(
            settings.login_attempts_per_account,
            settings.login_attempts_per_address,
            settings.login_attempts_per_instance,
        );
        // One committer on SQLite (one writer at a time in any case). On
        // PostgreSQL two: a busy project's writes serialise on its row lock
        // whatever the number, so more committers would only split its
        // batches; two let another project's writes commit meanwhile.
        let (committers, default_batch) = match db.backend() {
            crate::db::Backend::Sqlite => (1, write_pipeline::BATCH_MAX_SQLITE),
            crate::db::Backend::Postgres => (2, write_pipeline::BATCH_MAX_POSTGRES),
        };
        let file = settings.signing_key_file.as_deref();
        let signing_key = if settings.read_only {
            crate::ops::signing_key::existing_key(&db, file)
        } else {
            crate::ops::signing_key::instance_key(&db, file)
        }
        .map_err(|e| StartupError::Config(e.to_string()))?;
        let batch_max = settings.group_commit_max.unwrap_or(default_batch);
        let mut metrics = crate::metrics::Metrics::new();
        metrics.count_statements(db.statements());
        let writes = write_pipeline::WritePipeline::start(
            db.clone(),
            committers,
            batch_max,
            metrics.writes.clone(),
            settings.test_hooks.clone(),
        )
        .map_err(StartupError::Threads)?;
        let state = web::Data::new(AppState {
            writes,
            db,
            settings,
            keys,
            login_limiter,
            hashers,
            metrics,
            signing_key: Arc::new(signing_key),
        });
        let limits = state.settings.clone();
        let served = state.clone();
        let mut server = HttpServer::new(move || application(Some(served.clone())).0)
            .max_connections(limits.max_connections)
            .client_request_timeout(limits.client_request_timeout)
            .keep_alive(limits.keep_alive);
        if let Some(workers) = workers {
            server = server.workers(workers);
        }
        // actix-web stops gracefully on SIGINT and SIGTERM: it stops
        // accepting, lets in-flight requests finish, then exits.
        let server = server
            .shutdown_timeout(30)
            .listen(listener)
            .map_err(|source| StartupError::Bind {
                address: address.to_string(),
                source,
            })?
            .run();
        tracing::info!(%address, "listening");
        Ok(Application {
            port: address.port(),
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The state every request of this server shares.
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The token keys: the configured secret (refused if shorter than 32 bytes),
/// or on the embedded database a generated one kept beside it, plus the
/// external provider's key when one is configured.
pub fn token_keys(settings: &Settings, url: &DatabaseUrl) -> Result<TokenKeys, StartupError> {
    let secret = match (&settings.jwt_secret, url) {
        (Some(secret), _) => secret.as_bytes().to_vec(),
        (None, DatabaseUrl::Sqlite(path)) => {
            let directory = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            load_or_create_secret(&directory.join(JWT_SECRET_FILE))?
        }
        (None, DatabaseUrl::Postgres(_)) => {
            return Err(StartupError::Config(
                "COMMONS_LEDGER_JWT_SECRET must be set when the database is PostgreSQL: every \
                 instance must sign and verify tokens with the same secret"
                    .to_owned(),
            ));
        }
    };
    let keys = TokenKeys::new(
        &secret,
        &settings.jwt_issuer,
        &settings.jwt_audience,
        settings.token_lifetime_s,
    )
    .map_err(|reason| {
        StartupError::Config(format!("COMMONS_LEDGER_JWT_SECRET refused: {reason}"))
    })?;
    let Some(key_file) = &settings.external_jwt_public_key_file else {
        return Ok(keys);
    };
    let pem = std::fs::read(key_file)
        .map_err(|e| StartupError::Config(format!("cannot read {}: {e}", key_file.display())))?;
    let (algorithm, key) = match settings.external_jwt_algorithm.as_str() {
        "RS256" => (
            jsonwebtoken::Algorithm::RS256,
            jsonwebtoken::DecodingKey::from_rsa_pem(&pem),
        ),
        "EdDSA" => (
            jsonwebtoken::Algorithm::EdDSA,
            jsonwebtoken::DecodingKey::from_ed_pem(&pem),
        ),
        other => {
            return Err(StartupError::Config(format!(
                "COMMONS_LEDGER_EXTERNAL_JWT_ALGORITHM must be RS256 or EdDSA, got `{other}`"
            )));
        }
    };
    let key = key.map_err(|e| {
        StartupError::Config(format!(
            "{} is not a usable public key: {e}",
            key_file.display()
        ))
    })?;
    let issuer = settings.external_jwt_issuer.as_deref().ok_or_else(|| {
        StartupError::Config(
            "COMMONS_LEDGER_EXTERNAL_JWT_ISSUER must name the provider's issuer".to_owned(),
        )
    })?;
    Ok(keys.with_external(ExternalIssuer {
        key,
        validation: validation(algorithm, issuer, &settings.external_jwt_audience),
    }))
}

/// Reads the generated secret, or creates it: 64 random bytes, hex-encoded,
/// in a file only its owner may read.
fn load_or_create_secret(path: &std::path::Path) -> Result<Vec<u8>, StartupError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let unreadable = |e: std::io::Error| {
        StartupError::Config(format!(
            "cannot use the JWT secret file {}: {e}",
            path.display()
        ))
    };
    match std::fs::read_to_string(path) {
        Ok(text) => return Ok(text.trim().as_bytes().to_vec()),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(unreadable(e)),
        Err(_) => {}
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(unreadable)?;
    }
    let mut bytes = [0u8; 64];
    argon2::password_hash::rand_core::RngCore::fill_bytes(
        &mut argon2::password_hash::rand_core::OsRng,
        &mut bytes,
    );
    let secret = hex::encode(bytes);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(unreadable)?;
    file.write_all(secret.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(unreadable)?;
    tracing::info!(path = %path.display(), "generated a JWT secret");
    Ok(secret.into_bytes())
}
