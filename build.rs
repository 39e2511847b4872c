//! Rebuild when a migration changes: they are embedded in the binary.
//!
//! Also sets `cfg(postgres_tests)` when `COMMONS_LEDGER_TEST_POSTGRES_URL`
//! is set, so that without it the PostgreSQL tests are reported as ignored
//! by the test runner, never as passed.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    println!("cargo:rerun-if-env-changed=COMMONS_LEDGER_TEST_POSTGRES_URL");
    if std::env::var_os("COMMONS_LEDGER_TEST_POSTGRES_URL").is_some_and(|url| !url.is_empty()) {
        println!("cargo:rustc-cfg=postgres_tests");
    }
}
