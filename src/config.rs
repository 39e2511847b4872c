//! Configuration: command-line flags, each also read from a
//! `COMMONS_LEDGER_*` environment variable, with documented defaults.

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The embedded default: a SQLite file under ./data/, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/commons-ledger.db";

#[derive(Debug, Parser)]
#[command(
    name = "commons-ledger",
    version,
    about = "The books of a citizen-science or open-science commons"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Apply migrations and serve the HTTP API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load the PRODUCT.md story (OpenAir Lyon) into a fresh SQLite
    /// database, make the project public, print the address and everyone's
    /// sign-in details, and serve. Refuses a database that already holds it.
    Demo {
        /// The SQLite file to load the story into (created if missing).
        /// Without it, a new file in a new temporary directory.
        #[arg(long)]
        database: Option<std::path::PathBuf>,
    },
    /// Print the OpenAPI document and exit.
    Openapi,
    /// Print docs/errors.md (every problem and field-error code) and exit.
    Errors,
    /// Manage instance administrators.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Recompute every project's hash chain and balances from the stored
    /// rows; exit 1 if any project does not verify.
    Verify {
        /// Only this project.
        #[arg(long)]
        project: Option<String>,
    },
    /// Print the public key (SPKI PEM) that signs report bundles: the key
    /// file's when `--signing-key-file` is set, otherwise the database's
    /// (generated and stored first if there is none yet).
    SigningKey,
    /// Check a signed report bundle without a server: every file the
    /// manifest lists present with its SHA-256, no file it does not list,
    /// and the signature valid over manifest.txt; exit 1 at the first failure.
    VerifyBundle {
        /// The bundle (a tar archive, as `GET .../reports/bundle` gives it).
        file: std::path::PathBuf,
        /// The published public key (SPKI PEM, from `/v1/signing-key` or
        /// `commons-ledger signing-key`) the bundle must be signed with.
        #[arg(long)]
        public_key: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum AdminCommand {
    /// Create an instance administrator; the password is read from standard input.
    Create {
        /// The administrator's sign-in email (shown to nobody but
        /// administrators and themself).
        #[arg(long)]
        email: String,
        /// Display name, 1 to 200 characters, shown to the members of the
        /// administrator's projects. Required, so that the sign-in email
        /// never becomes a name everyone sees.
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Database: `sqlite://PATH` (embedded) or `postgres://USER@HOST/DB`.
    #[arg(long, global = true, env = "COMMONS_LEDGER_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// PostgreSQL only: the role that owns the tables, used alone to apply
    /// migrations and grant the service's own role (`--database-url`) what
    /// it needs: reading and inserting, updating only rows that change by
    /// design, never TRUNCATE, ALTER or DROP, and never UPDATE or DELETE of
    /// posted transactions (docs/security.md). Without it the service's role
    /// migrates and owns the tables: a quick start, with a warning.
    #[arg(long, global = true, env = "COMMONS_LEDGER_MIGRATION_DATABASE_URL")]
    pub migration_database_url: Option<String>,

    /// Address to listen on, host:port.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_BIND",
        default_value = "127.0.0.1:8080"
    )]
    pub bind: String,

    /// Mark the web pages' cookies `Secure`, so browsers send them only
    /// over HTTPS: set it whenever the service is reached through TLS.
    #[arg(long, global = true, env = "COMMONS_LEDGER_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// Secret for signing access tokens (HS256), at least 32 bytes.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_JWT_SECRET",
        hide_env_values = true
    )]
    pub jwt_secret: Option<String>,

    /// Lifetime of issued access tokens, in seconds.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_TOKEN_LIFETIME_S",
        default_value_t = 3_600
    )]
    pub token_lifetime_s: u64,

    /// `iss` of issued tokens, and the issuer they must name.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_JWT_ISSUER",
        default_value = "commons-ledger"
    )]
    pub jwt_issuer: String,

    /// `aud` of issued tokens, and the audience they must name.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_JWT_AUDIENCE",
        default_value = "commons-ledger"
    )]
    pub jwt_audience: String,

    /// Ed25519 private key (PKCS#8 PEM, as `openssl genpkey -algorithm
    /// ed25519` writes it) that signs report bundles. Without it the key is
    /// generated once and kept in the database (docs/security.md).
    #[arg(long, global = true, env = "COMMONS_LEDGER_SIGNING_KEY_FILE")]
    pub signing_key_file: Option<std::path::PathBuf>,

    /// PEM public key of an external identity provider whose tokens are accepted.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_EXTERNAL_JWT_PUBLIC_KEY_FILE"
    )]
    pub external_jwt_public_key_file: Option<std::path::PathBuf>,

    /// Algorithm of the external provider's tokens: RS256 or EdDSA.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_EXTERNAL_JWT_ALGORITHM",
        default_value = "RS256"
    )]
    pub external_jwt_algorithm: String,

    /// Issuer (`iss`) the external provider's tokens must name.
    #[arg(long, global = true, env = "COMMONS_LEDGER_EXTERNAL_JWT_ISSUER")]
    pub external_jwt_issuer: Option<String>,

    /// Audience (`aud`) the external provider's tokens must name.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_EXTERNAL_JWT_AUDIENCE",
        default_value = "commons-ledger"
    )]
    pub external_jwt_audience: String,

    /// Sign-in attempts allowed per account per minute.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_LOGIN_ATTEMPTS_PER_ACCOUNT",
        default_value_t = 5
    )]
    pub login_attempts_per_account: u32,

    /// Sign-in attempts allowed per client address per minute.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_LOGIN_ATTEMPTS_PER_ADDRESS",
        default_value_t = 30
    )]
    pub login_attempts_per_address: u32,

    /// Sign-in attempts allowed per minute on the whole instance, from all
    /// addresses together; beyond it sign-in answers 503 `sign_in_busy`.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_LOGIN_ATTEMPTS_PER_INSTANCE",
        default_value_t = 600
    )]
    pub login_attempts_per_instance: u32,

    /// Memory for password hashing, in MiB: one hasher (one argon2 hash at a
    /// time) per 19 MiB, so the default runs four at once.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_PASSWORD_HASH_MEMORY_MIB",
        default_value_t = 80
    )]
    pub password_hash_memory_mib: u64,

    /// Password hashes that may wait for a hasher; one more is answered 503
    /// `sign_in_busy`.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_PASSWORD_HASH_QUEUE",
        default_value_t = 64
    )]
    pub password_hash_queue: usize,

    /// Longest a password hash waits for a hasher before it is answered 503
    /// `sign_in_busy`, in milliseconds.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_PASSWORD_HASH_WAIT_MS",
        default_value_t = 2_000
    )]
    pub password_hash_wait_ms: u64,

    /// Database connections in the pool.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_POOL_SIZE",
        default_value_t = 8
    )]
    pub pool_size: u32,

    /// Largest request body accepted, in bytes.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_BODY_LIMIT_BYTES",
        default_value_t = 262_144
    )]
    pub body_limit_bytes: usize,

    /// Seconds after which an unfinished idempotent request's key may be taken over.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_IDEMPOTENCY_LEASE_S",
        default_value_t = 60
    )]
    pub idempotency_lease_s: u64,

    /// Longest a request may take before it is answered 503 `request_timeout`, in seconds.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_REQUEST_TIMEOUT_S",
        default_value_t = 30
    )]
    pub request_timeout_s: u64,

    /// Time a client has to send a request's head, in milliseconds.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_CLIENT_REQUEST_TIMEOUT_MS",
        default_value_t = 5_000
    )]
    pub client_request_timeout_ms: u64,

    /// Seconds an idle keep-alive connection stays open.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_KEEP_ALIVE_S",
        default_value_t = 5
    )]
    pub keep_alive_s: u64,

    /// Concurrent connections each worker accepts; more wait in the backlog.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_MAX_CONNECTIONS",
        default_value_t = 1_024
    )]
    pub max_connections: usize,

    /// PostgreSQL: longest a statement waits for a row lock before the write
    /// is retried (then refused 503 `database_busy`), in milliseconds.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_LOCK_TIMEOUT_MS",
        default_value_t = 5_000
    )]
    pub lock_timeout_ms: u64,

    /// Serve reads only, from a database this instance never writes: a
    /// PostgreSQL streaming replica (docs/scaling.md). No migrations are
    /// run (the schema must already be this binary's), and every write is
    /// answered 503 `read_only_instance`; reads, reports, exports and
    /// signing in are served.
    #[arg(long, global = true, env = "COMMONS_LEDGER_READ_ONLY")]
    pub read_only: bool,

    /// Most write requests one shared database transaction carries (group
    /// commit); 1 turns it off. Default: 128 on SQLite, 4 on PostgreSQL.
    #[arg(long, global = true, env = "COMMONS_LEDGER_GROUP_COMMIT_MAX")]
    pub group_commit_max: Option<usize>,

    /// Who may create projects: `anyone` signed in (who becomes the new
    /// project's owner) or `administrators` only.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_PROJECT_CREATION",
        value_enum,
        default_value_t = ProjectCreation::Anyone
    )]
    pub project_creation: ProjectCreation,

    /// HTTP worker threads (default: one per core).
    #[arg(long, global = true, env = "COMMONS_LEDGER_WORKERS")]
    pub workers: Option<usize>,

    /// Log filter, in tracing's EnvFilter syntax.
    #[arg(
        long,
        global = true,
        env = "COMMONS_LEDGER_LOG",
        default_value = "info"
    )]
    pub log: String,
}

/// Who may create projects on this instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProjectCreation {
    /// Anyone signed in; they become the project's owner.
    Anyone,
    /// Instance administrators only (403 `admin_only` for anyone else).
    Administrators,
}

/// The settings the request handlers need.
#[derive(Debug, Clone)]
pub struct RuntimeSettings {
    pub body_limit_bytes: usize,
    pub idempotency_lease: Duration,
    pub login_attempts_per_account: u32,
    pub login_attempts_per_address: u32,
    pub login_attempts_per_instance: u32,
    pub password_hash_memory_mib: u64,
    pub password_hash_queue: usize,
    pub password_hash_wait: Duration,
    pub request_timeout: Duration,
    pub client_request_timeout: Duration,
    pub keep_alive: Duration,
    pub max_connections: usize,
    pub group_commit_max: Option<usize>,
    /// Reads only: every write is refused before it reaches the database.
    pub read_only: bool,
    /// Test-only controls of the write pipeline (fault injection, batches
    /// made to fill up); never set outside the test harness.
    pub test_hooks: Option<std::sync::Arc<crate::write_pipeline::TestHooks>>,
    pub project_creation: ProjectCreation,
    /// The signing key's file; `None`: the key kept in the database.
    pub signing_key_file: Option<std::path::PathBuf>,
    /// Whether the web pages' cookies carry `Secure` (served behind TLS).
    pub secure_cookies: bool,
}

impl Settings {
    pub fn runtime(&self) -> RuntimeSettings {
        RuntimeSettings {
            body_limit_bytes: self.body_limit_bytes,
            idempotency_lease: Duration::from_secs(self.idempotency_lease_s),
            login_attempts_per_account: self.login_attempts_per_account,
            login_attempts_per_address: self.login_attempts_per_address,
            login_attempts_per_instance: self.login_attempts_per_instance,
            password_hash_memory_mib: self.password_hash_memory_mib,
            password_hash_queue: self.password_hash_queue,
            password_hash_wait: Duration::from_millis(self.password_hash_wait_ms),
            request_timeout: Duration::from_secs(self.request_timeout_s),
            client_request_timeout: Duration::from_millis(self.client_request_timeout_ms),
            keep_alive: Duration::from_secs(self.keep_alive_s),
            max_connections: self.max_connections,
            group_commit_max: self.group_commit_max,
            read_only: self.read_only,
            test_hooks: None,
            project_creation: self.project_creation,
            signing_key_file: self.signing_key_file.clone(),
            secure_cookies: self.secure_cookies,
        }
    }
}
