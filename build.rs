//! Rebuild when a migration changes: they are embedded in the binary.
//!
//! Also sets `cfg(postgres_tests)` when `COMMONS_LEDGER_TEST_POSTGRES_URL`
//! is set, so that without it the PostgreSQL tests are reported as ignored
//! by the test runner, never as passed; and `cfg(replica_tests)` when
//! `COMMONS_LEDGER_TEST_REPLICA` is set too (the streaming-replica test,
//! which needs a server allowing replication connections); and
//! `cfg(browser_tests)` when `COMMONS_LEDGER_TEST_BROWSER` is set (the
//! browser test, which needs chromium and chromedriver).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    println!("cargo:rerun-if-env-changed=COMMONS_LEDGER_TEST_POSTGRES_URL");
    println!("cargo::rustc-check-cfg=cfg(replica_tests)");
    println!("cargo:rerun-if-env-changed=COMMONS_LEDGER_TEST_REPLICA");
    let set = |name| std::env::var_os(name).is_some_and(|value| !value.is_empty());
    println!("cargo::rustc-check-cfg=cfg(browser_tests)");
    println!("cargo:rerun-if-env-changed=COMMONS_LEDGER_TEST_BROWSER");
    if set("COMMONS_LEDGER_TEST_BROWSER") {
        println!("cargo:rustc-cfg=browser_tests");
    }
    if set("COMMONS_LEDGER_TEST_POSTGRES_URL") {
        println!("cargo:rustc-cfg=postgres_tests");
        if set("COMMONS_LEDGER_TEST_REPLICA") {
            println!("cargo:rustc-cfg=replica_tests");
        }
    }
}
