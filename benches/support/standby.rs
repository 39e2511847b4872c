//! A PostgreSQL hot standby of a test or benchmark server, made with
//! `pg_basebackup` and streaming from it: what the read-only instance's
//! replica test (tests/api/read_only.rs) and the replica benchmark
//! (benches/replica.rs) run against.

use std::net::TcpListener;
use std::process::Command;

/// A PostgreSQL standby of the test server's cluster, made by
/// `pg_basebackup` and streaming from it, on a port of its own; stopped and
/// removed when dropped. Needs the server's `pg_hba.conf` to allow
/// replication connections from 127.0.0.1 (`.ci/run` makes sure of it).
pub struct Standby {
    dir: tempfile::TempDir,
    pub port: u16,
    pg_ctl: std::path::PathBuf,
}

impl Drop for Standby {
    fn drop(&mut self) {
        let _ = as_postgres(&self.pg_ctl)
            .args([
                "-D",
                &self.data().display().to_string(),
                "-m",
                "immediate",
                "stop",
            ])
            .output();
    }
}

impl Standby {
    /// `url` (a URL of the primary's server) pointing at the standby.
    pub fn url_of(&self, url: &str) -> String {
        let mut url = reqwest::Url::parse(url).expect("url");
        url.set_port(Some(self.port)).expect("port");
        url.to_string()
    }

    fn data(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }
}

/// Runs `program` as the `postgres` system user (the server refuses root).
fn as_postgres(program: &std::path::Path) -> Command {
    let mut command = Command::new("runuser");
    command.args(["-u", "postgres", "--"]).arg(program);
    command
}

/// The server's binaries (`pg_config --bindir`).
fn postgres_bin(name: &str) -> std::path::PathBuf {
    let output = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success());
    let dir = match output {
        Some(o) => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        None => std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's binaries under /usr/lib/postgresql")
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin").display().to_string())
            .max()
            .expect("a PostgreSQL version"),
    };
    std::path::Path::new(&dir).join(name)
}

pub fn start_standby(primary_url: &str) -> Standby {
    let url = reqwest::Url::parse(primary_url).expect("url");
    let host = url.host_str().unwrap_or("127.0.0.1").to_owned();
    let primary_port = url.port().unwrap_or(5432).to_string();
    let user = if url.username().is_empty() {
        "postgres"
    } else {
        url.username()
    }
    .to_owned();
    let dir = tempfile::tempdir().expect("directory");
    let data = dir.path().join("data");
    let standby = Standby {
        port: free_port(),
        pg_ctl: postgres_bin("pg_ctl"),
        dir,
    };
    let chown = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(standby.dir.path())
        .status()
        .expect("chown");
    assert!(chown.success());
    let backup = as_postgres(&postgres_bin("pg_basebackup"))
        .args(["-h", &host, "-p", &primary_port, "-U", &user, "-D"])
        .arg(&data)
        .args(["-R", "-X", "stream", "-c", "fast"])
        .output()
        .expect("pg_basebackup");
    assert!(
        backup.status.success(),
        "pg_basebackup: {}",
        String::from_utf8_lossy(&backup.stderr)
    );
    // Debian keeps the server's configuration outside the data directory:
    // the standby gets a minimal one of its own.
    let socket = standby.dir.path().display().to_string();
    std::fs::write(
        data.join("postgresql.conf"),
        format!(
            "port = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{socket}'\n\
             hot_standby = on\nfsync = on\n",
            standby.port
        ),
    )
    .expect("postgresql.conf");
    std::fs::write(
        data.join("pg_hba.conf"),
        "local all all trust\nhost all all 127.0.0.1/32 trust\n",
    )
    .expect("pg_hba.conf");
    std::fs::write(data.join("pg_ident.conf"), "").expect("pg_ident.conf");
    let chown = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(standby.dir.path())
        .status()
        .expect("chown");
    assert!(chown.success());
    let started = as_postgres(&standby.pg_ctl)
        .args(["-D", &data.display().to_string(), "-w", "-t", "60", "-l"])
        .arg(standby.dir.path().join("server.log"))
        .arg("start")
        .output()
        .expect("pg_ctl");
    assert!(
        started.status.success(),
        "standby start: {} {}",
        String::from_utf8_lossy(&started.stderr),
        std::fs::read_to_string(standby.dir.path().join("server.log")).unwrap_or_default()
    );
    standby
}

/// One text value from a query.
pub fn scalar(url: &str, query: &str) -> String {
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Value {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }
    let mut conn = diesel::PgConnection::establish(url).expect("connect");
    let found: Value = diesel::sql_query(query)
        .get_result(&mut conn)
        .expect("query");
    found.value
}

/// Waits until the standby has replayed the primary's WAL up to what the
/// primary has flushed now (every acknowledged commit; WAL written but not
/// yet flushed is not sent, so the write position could wait for ever on
/// an idle server): a condition polled, bounded, never a fixed sleep.
pub async fn caught_up(primary_url: &str, standby_url: &str) {
    let target = scalar(
        primary_url,
        "SELECT pg_current_wal_flush_lsn()::text AS value",
    );
    for _ in 0..1_200 {
        let replayed = scalar(
            standby_url,
            &format!(
                "SELECT (COALESCE(pg_last_wal_replay_lsn(), '0/0') >= '{target}'::pg_lsn)::text AS value"
            ),
        );
        if replayed == "true" {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the standby did not replay up to {target}");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}
