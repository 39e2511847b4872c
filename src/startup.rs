//! Wiring: database, migrations, routes, OpenAPI and the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpServer, web};
use utoipa::OpenApi;
use utoipa_actix_web::{AppExt, scope};
use utoipa_swagger_ui::SwaggerUi;

use crate::config::{RuntimeSettings, Settings};
use crate::db::{Database, DatabaseUrl, StorageError};
use crate::routes::problem::ApiError;
use crate::routes::{self, AppState, extract, health};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "commons-ledger",
        description = "Double-entry books for citizen-science and open-science commons: \
            projects, accounts, transactions, balances. Errors are RFC 9457 problem \
            documents with a stable `code`. Every POST accepts an `Idempotency-Key`.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later"),
    ),
    tags(
        (name = "projects", description = "Projects, each with its own ledger"),
        (name = "accounts", description = "Accounts and balances"),
        (name = "transactions", description = "Posting, listing and reversing transactions"),
        (name = "health", description = "Probes"),
    )
)]
struct ApiDoc;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Storage(#[from] StorageError),
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
        app = app.app_data(state);
    }
    let (app, api) = app
        .service(health::get_health)
        .service(health::get_readiness)
        .service(scope::scope("/v1").configure(routes::configure))
        .split_for_parts();
    let app = app
        .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", api.clone()))
        .route("/docs", web::get().to(docs_redirect))
        .default_service(web::to(not_found))
        .wrap(from_fn(crate::telemetry::log_request));
    (app, api)
}

/// Answers requests no route took: 405 when the path exists with other
/// methods, 404 otherwise.
async fn not_found(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    if req.resource_map().has_resource(req.path()) {
        return Err(ApiError::MethodNotAllowed(req.method().to_string()));
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
}

impl Application {
    /// Connects to the database, applies migrations and binds the listener.
    pub fn build(settings: &Settings) -> Result<Self, StartupError> {
        let url = DatabaseUrl::parse(&settings.database_url)?;
        let db = Database::connect(&url, settings.pool_size)?;
        let applied = db.migrate()?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "applied migrations");
        }
        let listener = TcpListener::bind(&settings.bind).map_err(|source| StartupError::Bind {
            address: settings.bind.clone(),
            source,
        })?;
        Self::from_parts(Arc::new(db), listener, settings.runtime(), settings.workers)
    }

    /// Serves an already connected and migrated database on `listener`.
    pub fn from_parts(
        db: Arc<Database>,
        listener: TcpListener,
        settings: RuntimeSettings,
        workers: Option<usize>,
    ) -> Result<Self, StartupError> {
        let address = listener.local_addr().map_err(|source| StartupError::Bind {
            address: "listener".to_owned(),
            source,
        })?;
        let state = web::Data::new(AppState { db, settings });
        let mut server = HttpServer::new(move || application(Some(state.clone())).0);
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
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
