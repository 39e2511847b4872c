//! The `commons-ledger` binary: parse configuration, set up logging, then
//! serve, migrate or print the OpenAPI document.

use std::process::ExitCode;

use clap::Parser;
use commons_ledger::config::{AdminCommand, Cli, Command};
use commons_ledger::db::{Database, DatabaseUrl};
use commons_ledger::startup::{self, Application};
use commons_ledger::telemetry;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo prints where to go and how to sign in: a line per request
    // would push that off the screen, so it logs warnings only unless a
    // level is asked for.
    let quiet = matches!(cli.command, Some(Command::Demo { .. }));
    let asked = std::env::var_os("COMMONS_LEDGER_LOG").is_some()
        || std::env::args().any(|arg| arg == "--log" || arg.starts_with("--log="));
    telemetry::init(if quiet && !asked {
        "warn"
    } else {
        &cli.settings.log
    });
    let result = match cli.command.clone().unwrap_or(Command::Serve) {
        Command::Serve => serve(&cli),
        Command::Migrate => migrate(&cli),
        Command::Demo { database } => demo(&cli, database),
        Command::Openapi => print_openapi(),
        Command::Errors => {
            print!("{}", commons_ledger::http::codes::errors_markdown());
            Ok(())
        }
        Command::Admin(AdminCommand::Create { email, name }) => create_admin(&cli, &email, &name),
        Command::Verify { project } => verify(&cli, project.as_deref()),
        Command::SigningKey => print_signing_key(&cli),
        Command::VerifyBundle { file, public_key } => verify_bundle(&file, public_key.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("commons-ledger: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(cli: &Cli) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async {
        let app = Application::build(&cli.settings).map_err(|e| e.to_string())?;
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}

/// Loads the story into a fresh (or the given) SQLite database, prints how
/// to see it, then serves it.
fn demo(cli: &Cli, database: Option<std::path::PathBuf>) -> Result<(), String> {
    let path = match database {
        Some(path) => path,
        None => {
            let directory = std::env::temp_dir().join(format!(
                "commons-ledger-demo-{}",
                uuid::Uuid::now_v7().simple()
            ));
            directory.join("demo.db")
        }
    };
    let mut settings = cli.settings.clone();
    settings.database_url = format!("sqlite://{}", path.display());
    actix_web::rt::System::new().block_on(async {
        let app = Application::build(&settings).map_err(|e| e.to_string())?;
        let demo = commons_ledger::demo::load(app.state()).await?;
        let host = settings
            .bind
            .rsplit_once(':')
            .map_or("127.0.0.1", |(host, _)| host);
        let address = format!("http://{host}:{}", app.port());
        println!("The OpenAir Lyon story is loaded into {}.", path.display());
        println!();
        println!("  Public books:  {address}/p/{}", demo.project);
        println!("  Sign in:       {address}/sign-in");
        println!();
        for person in &demo.people {
            println!(
                "  {:<22} {:<18} {:<30} {}",
                person.part, person.name, person.email, person.password
            );
        }
        println!();
        println!(
            "Serving until Ctrl-C; the database stays in {}.",
            path.display()
        );
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}

fn migrate(cli: &Cli) -> Result<(), String> {
    let url = DatabaseUrl::parse(&cli.settings.database_url).map_err(|e| e.to_string())?;
    let db = Database::connect(&url, 1).map_err(|e| e.to_string())?;
    let owner = cli.settings.migration_database_url.as_deref();
    let applied = commons_ledger::db::migrate_for(&db, owner).map_err(|e| e.to_string())?;
    println!("applied {} migration(s)", applied.len());
    for name in applied {
        println!("  {name}");
    }
    Ok(())
}

/// Creates an instance administrator, reading the password from standard
/// input (its first line), so it never appears in the process list or history.
fn create_admin(cli: &Cli, email: &str, name: &str) -> Result<(), String> {
    use std::io::{BufRead, IsTerminal};
    if std::io::stdin().is_terminal() {
        eprint!("Password for {email}: ");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password: {e}"))?;
    let password = line.trim_end_matches(['\n', '\r']);
    let url = DatabaseUrl::parse(&cli.settings.database_url).map_err(|e| e.to_string())?;
    let db = Database::connect(&url, 1).map_err(|e| e.to_string())?;
    db.migrate().map_err(|e| e.to_string())?;
    let agent = commons_ledger::admin::create_admin(&db, email, name, password)?;
    println!("created administrator {} ({})", agent.id, email);
    Ok(())
}

/// Verifies one project or all: one line per project, and the first
/// discrepancy of any that fails. Read-only; safe while the service runs.
fn verify(cli: &Cli, project: Option<&str>) -> Result<(), String> {
    use commons_ledger::ops::verification;
    let url = DatabaseUrl::parse(&cli.settings.database_url).map_err(|e| e.to_string())?;
    let db = Database::connect(&url, 1).map_err(|e| e.to_string())?;
    let ids = match project {
        Some(id) => vec![id.to_owned()],
        None => verification::projects(&db).map_err(|e| e.to_string())?,
    };
    let mut failed = 0;
    for id in &ids {
        let report = verification::verify_in(&db, id)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no project {id}"))?;
        match &report.discrepancy {
            None => println!(
                "ok      {id}: {} transactions, {} postings, {} accounts, {} events",
                report.transactions_checked,
                report.postings_checked,
                report.accounts_checked,
                report.events_checked
            ),
            Some(found) => {
                failed += 1;
                println!(
                    "FAILED  {id}: {} at sequence {}{}: {} (expected {}, found {})",
                    found.code,
                    found.sequence.map_or("-".to_owned(), |s| s.to_string()),
                    found
                        .account
                        .as_ref()
                        .map_or(String::new(), |a| format!(", account {a}")),
                    found.message,
                    found.expected,
                    found.found
                );
            }
        }
    }
    if failed > 0 {
        return Err(format!(
            "{failed} of {} project(s) failed verification",
            ids.len()
        ));
    }
    Ok(())
}

/// Prints the public key report bundles are signed with.
fn print_signing_key(cli: &Cli) -> Result<(), String> {
    let url = DatabaseUrl::parse(&cli.settings.database_url).map_err(|e| e.to_string())?;
    let db = Database::connect(&url, 1).map_err(|e| e.to_string())?;
    let key = commons_ledger::ops::signing_key::instance_key(
        &db,
        cli.settings.signing_key_file.as_deref(),
    )
    .map_err(|e| e.to_string())?;
    print!("{}", key.public_key_pem());
    Ok(())
}

/// Checks a report bundle offline: a short report when it verifies, the
/// first failure otherwise.
fn verify_bundle(
    file: &std::path::Path,
    public_key: Option<&std::path::Path>,
) -> Result<(), String> {
    use commons_ledger::domain::bundle;
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let archive = read(file)?;
    let expected = match public_key {
        Some(path) => Some(
            String::from_utf8(read(path)?)
                .map_err(|_| format!("{} is not a PEM file", path.display()))?,
        ),
        None => None,
    };
    let verified = bundle::verify_archive(&archive, expected.as_deref())
        .map_err(|e| format!("FAILED  {}: {e}", file.display()))?;
    println!(
        "ok      {}: {} file(s) match the signed manifest ({})",
        file.display(),
        verified.files.len(),
        verified.files.join(", ")
    );
    for (key, value) in &verified.facts {
        println!("        {key}: {value}");
    }
    if expected.is_none() {
        println!(
            "        the key is the bundle's own: compare key_id with the published key (--public-key)"
        );
    }
    Ok(())
}

fn print_openapi() -> Result<(), String> {
    let json = startup::openapi()
        .to_pretty_json()
        .map_err(|e| e.to_string())?;
    println!("{json}");
    Ok(())
}
