#!/usr/bin/env bash
# Conformance of the service to its committed OpenAPI document (issue #8).
#
#   conformance/run.sh path/to/commons-ledger      (from the repository root)
#
# 1. lints openapi/openapi.json with Redocly CLI (recommended ruleset, conformance/redocly.yaml)
#    and Spectral (`spectral:oas`, conformance/spectral.yaml); a warning from either fails;
# 2. regenerates the Python client from it with openapi-python-client into
#    target/conformance/client (never committed, never edited);
# 3. generates the TypeScript client (openapi-typescript types for openapi-fetch) into
#    conformance/ts/generated (never committed), checks that conformance/ts/story.ts has no
#    casts, non-null assertions or `any` (conformance/ts/check-no-casts.mjs) and compiles it
#    with `tsc --strict`;
#    generates a Rust client with openapi-generator into target/conformance/rust-client and
#    compiles it (`cargo check`);
# 4. for SQLite (always) and PostgreSQL (when COMMONS_LEDGER_TEST_POSTGRES_URL is set) starts a
#    fresh server from the given binary and plays PRODUCT.md steps 1-8 through the Python
#    client (conformance/story.py), then, on a project of its own on the same server, through
#    the TypeScript client (conformance/ts/story.ts);
# 5. runs schemathesis (its default checks plus response schema conformance) against the
#    SQLite server and, when PostgreSQL is configured, against the PostgreSQL server,
#    authenticated as the admin: on SQLite the examples, coverage and fuzzing phases, then the
#    stateful phase; on PostgreSQL the examples, coverage and fuzzing phases (the stateful
#    phase too if CONFORMANCE_POSTGRES_STATEFUL_MAX_TIME is set).
#
# Every check runs even when an earlier one fails; the script exits 1 if any failed, after
# printing a summary. Setup failures (venv, npm ci, generation, a server that does not start)
# stop it at once.
#
# Environment:
#   COMMONS_LEDGER_TEST_POSTGRES_URL  e.g. postgres://postgres@127.0.0.1:5432/postgres; the role
#                                     needs CREATEDB. A database cl_conf_<timestamp>_<pid> is
#                                     created and dropped at exit.
#   CONFORMANCE_MAX_EXAMPLES          schemathesis test cases per operation and phase (default 30)
#   CONFORMANCE_MAX_TIME              time budget of the examples/coverage/fuzzing run (default 300 s)
#   CONFORMANCE_STATEFUL_MAX_TIME     time budget of the stateful run (default 240 s)
#   CONFORMANCE_POSTGRES_MAX_TIME     time budget of the examples/coverage/fuzzing run against
#                                     PostgreSQL (default 180 s)
#   CONFORMANCE_POSTGRES_STATEFUL_MAX_TIME  time budget of a stateful run against PostgreSQL
#                                     (default 0: none)
#   CONFORMANCE_SKIP_SCHEMATHESIS=1   skip step 5
#   CONFORMANCE_SKIP_RUST=1           skip the Rust client of step 3
#   PYTHON                            interpreter for the venv (default python3, 3.10 or newer)
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: conformance/run.sh path/to/commons-ledger-binary" >&2
    exit 2
fi
BINARY=$(realpath "$1")
[[ -x "$BINARY" ]] || { echo "not an executable: $BINARY" >&2; exit 2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SPEC=openapi/openapi.json
OUT=$ROOT/target/conformance
VENV=$OUT/venv
CLIENT=$OUT/client
LOGS=$OUT/logs
mkdir -p "$OUT" "$LOGS"

ADMIN_EMAIL=admin@example.org
ADMIN_PASSWORD="conformance admin passphrase $(date +%s)"
JWT_SECRET=$(printf 'conformance-secret-%.0s' {1..4} | head -c 64)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/cl-conformance.XXXXXX")
printf '%s\n' "$ADMIN_PASSWORD" >"$TMP/admin-password"
chmod 600 "$TMP/admin-password"
SERVER_PIDS=()
PG_ADMIN_URL=${COMMONS_LEDGER_TEST_POSTGRES_URL:-}
PG_DB=""
FAILURES=()
TIMINGS=()

cleanup() {
    local status=$?
    for pid in "${SERVER_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    if [[ -n "$PG_DB" ]]; then
        psql "$PG_ADMIN_URL" -q -v ON_ERROR_STOP=1 \
            -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 \
            || echo "warning: could not drop database $PG_DB" >&2
    fi
    rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s; }
timed() { # timed LABEL START
    TIMINGS+=("$1: $(( $(now) - $2 ))s")
}
# Runs a check; records its failure instead of stopping.
check() { # check LABEL COMMAND...
    local label=$1; shift
    local start; start=$(now)
    echo "=== $label"
    local rc=0
    "$@" || rc=$?
    timed "$label" "$start"
    if [[ $rc -ne 0 ]]; then
        FAILURES+=("$label (exit $rc)")
        echo "=== $label: FAILED (exit $rc)"
    else
        echo "=== $label: ok"
    fi
}

# --- tools -----------------------------------------------------------------------------------
start=$(now)
echo "=== tools: Python venv ($VENV) and npm ci"
if [[ ! -x "$VENV/bin/python" ]]; then
    "${PYTHON:-python3}" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r conformance/requirements.txt
(cd conformance && npm ci --no-audit --no-fund --loglevel=error)
(cd conformance/ts && npm ci --no-audit --no-fund --loglevel=error)
timed "tools" "$start"

# --- 1. lint -----------------------------------------------------------------------------------
# Redocly exits 0 on warnings: its JSON totals are read, and any warning fails.
lint_redocly() {
    (cd conformance && npx --no-install redocly lint --config redocly.yaml "../$SPEC" --format=stylish) || return 1
    (cd conformance && npx --no-install redocly lint --config redocly.yaml "../$SPEC" --format=json 2>/dev/null) \
        | python3 -c 'import json, sys
totals = json.load(sys.stdin)["totals"]
print("redocly totals:", totals)
sys.exit(1 if totals["errors"] or totals["warnings"] or totals["ignored"] else 0)'
}
check "lint (redocly, recommended, 0 warnings)" lint_redocly
lint_spectral() {
    (cd conformance && npx --no-install spectral lint --ruleset spectral.yaml --fail-severity warn "../$SPEC")
}
check "lint (spectral:oas, 0 warnings)" lint_spectral

# --- 2. client ---------------------------------------------------------------------------------
start=$(now)
echo "=== generate the Python client into $CLIENT"
rm -rf "$CLIENT"
"$VENV/bin/openapi-python-client" generate --path "$SPEC" --output-path "$CLIENT" \
    --config conformance/openapi-python-client.yaml --meta setup 2>&1 | tee "$LOGS/generate.log"
[[ -d "$CLIENT/commons_ledger_client" ]] || { echo "client generation failed" >&2; exit 1; }
# Three warnings are the generator's known limits, not the spec's: it cannot
# type a response of `application/openmetrics-text` (/metrics is for
# Prometheus, not for this client) nor of `application/x-tar` (the signed
# report bundle, a download), and of the import's two request types it
# skips `text/csv` and generates the `application/octet-stream` one. Any other
# warning fails the run.
unexpected=$(grep '^WARNING\|Unable to process schema' "$LOGS/generate.log" \
    | grep -v 'GET /metrics within health' \
    | grep -v 'GET /v1/projects/{project_id}/reports/bundle within reports' \
    | grep -v 'POST /v1/projects/{project_id}/contributions/imports within contributions' || true)
if [[ -n "$unexpected" ]]; then
    FAILURES+=("client generation warnings (see $LOGS/generate.log): $unexpected")
fi
if [[ ! -f "$CLIENT/commons_ledger_client/api/contributions/create_contribution_import.py" ]]; then
    FAILURES+=("the client has no create_contribution_import")
fi
timed "generate client" "$start"
export PYTHONPATH="$CLIENT${PYTHONPATH:+:$PYTHONPATH}"

# --- 3. TypeScript client ----------------------------------------------------------------------
TS=conformance/ts
ts_client() {
    rm -rf "$TS/generated" "$TS/build"
    (cd "$TS" && npx --no-install openapi-typescript "../../$SPEC" --output generated/schema.d.ts) \
        >"$LOGS/generate-ts.log" 2>&1 || { cat "$LOGS/generate-ts.log" >&2; return 1; }
    node "$TS/check-no-casts.mjs" "$TS/story.ts" || return 1
    (cd "$TS" && npx --no-install tsc --project tsconfig.json --strict)
}
check "TypeScript client: generate, no casts, tsc --strict" ts_client

# A Rust client: openapi-generator's `rust` generator (its jar comes with the pinned PyPI
# package; it needs Java) into target/conformance/rust-client, compiled with `cargo check`
# in a target directory of its own against the committed conformance/rust/Cargo.lock.
# Set CONFORMANCE_SKIP_RUST=1 to skip it.
rust_client() {
    local crate=$OUT/rust-client
    rm -rf "$crate"
    "$VENV/bin/openapi-generator-cli" generate --input-spec "$SPEC" --generator-name rust \
        --output "$crate" --package-name commons_ledger_client \
        --additional-properties=packageVersion=0.0.0 >"$LOGS/generate-rust.log" 2>&1 \
        || { tail -50 "$LOGS/generate-rust.log" >&2; return 1; }
    # Its own workspace, not a member of the service's.
    printf '\n[workspace]\n' >>"$crate/Cargo.toml"
    cp conformance/rust/Cargo.lock "$crate/Cargo.lock"
    (cd "$crate" && CARGO_TARGET_DIR="$OUT/rust-target" cargo check --locked --quiet --no-default-features)
}
if [[ "${CONFORMANCE_SKIP_RUST:-0}" != 1 ]]; then
    check "Rust client: generate (openapi-generator), cargo check" rust_client
fi

# --- servers -----------------------------------------------------------------------------------
free_port() {
    "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_server NAME DATABASE_URL: sets PORT and BASE_URL
start_server() {
    local name=$1 url=$2
    PORT=$(free_port)
    BASE_URL="http://127.0.0.1:$PORT"
    local -a env=(
        COMMONS_LEDGER_DATABASE_URL="$url"
        COMMONS_LEDGER_BIND="127.0.0.1:$PORT"
        COMMONS_LEDGER_JWT_SECRET="$JWT_SECRET"
        COMMONS_LEDGER_LOG=warn
    )
    echo "--- $name: admin create, serve on $BASE_URL (log: $LOGS/$name-server.log)"
    env "${env[@]}" "$BINARY" admin create --email "$ADMIN_EMAIL" --name "Conformance Admin" <"$TMP/admin-password" \
        >"$LOGS/$name-admin.log" 2>&1 || { cat "$LOGS/$name-admin.log" >&2; return 1; }
    env "${env[@]}" "$BINARY" serve >"$LOGS/$name-server.log" 2>&1 &
    local pid=$!
    SERVER_PIDS+=("$pid")
    for _ in $(seq 1 120); do
        if [[ $(curl -s -o /dev/null -w '%{http_code}' "$BASE_URL/readyz" || true) == 200 ]]; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || { echo "$name server exited" >&2; cat "$LOGS/$name-server.log" >&2; return 1; }
        sleep 0.5
    done
    echo "$name server not ready after 60 s" >&2
    return 1
}

story() { # story NAME
    "$VENV/bin/python" conformance/story.py --base-url "$BASE_URL" --admin-email "$ADMIN_EMAIL" \
        --admin-password-file "$TMP/admin-password" --out "$OUT/story-$1.json"
}

# The same story through the TypeScript client, on the same server after the Python one: the
# same people (their emails tagged `+ts`, as an email names one agent) in a project of their own.
ts_story() { # ts_story NAME
    [[ -f "$TS/build/story.js" ]] || { echo "the TypeScript story did not compile" >&2; return 1; }
    node "$TS/build/story.js" --base-url "$BASE_URL" --admin-email "$ADMIN_EMAIL" \
        --admin-password-file "$TMP/admin-password"
}

# SQLite, always.
mkdir -p "$TMP/sqlite"
start_server sqlite "sqlite://$TMP/sqlite/ledger.db"
SQLITE_URL=$BASE_URL
check "story on SQLite" story sqlite
check "TypeScript story on SQLite" ts_story sqlite

# PostgreSQL, when configured.
if [[ -n "$PG_ADMIN_URL" ]]; then
    PG_DB="cl_conf_$(date +%Y%m%d%H%M%S)_$$"
    psql "$PG_ADMIN_URL" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
    PG_URL=$("$VENV/bin/python" -c 'import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$PG_ADMIN_URL" "$PG_DB")
    start_server postgres "$PG_URL"
    POSTGRES_URL=$BASE_URL
    check "story on PostgreSQL" story postgres
    check "TypeScript story on PostgreSQL" ts_story postgres
else
    echo "=== story on PostgreSQL: skipped (COMMONS_LEDGER_TEST_POSTGRES_URL is not set)"
fi

# --- 5. schemathesis ---------------------------------------------------------------------------
# schemathesis_run NAME BASE_URL MAX_TIME STATEFUL_MAX_TIME: the examples, coverage and
# fuzzing phases within MAX_TIME seconds, aimed at the ids of that server's story, then (if
# STATEFUL_MAX_TIME is not 0) the stateful phase within STATEFUL_MAX_TIME seconds. Reports go
# to target/conformance/schemathesis (SQLite) or schemathesis-NAME.
schemathesis_run() {
    local name=$1 url=$2 max_time=$3 stateful_max_time=$4
    [[ -f "$OUT/story-$name.json" ]] || { echo "no story ids: the $name story failed" >&2; return 1; }
    local ids=$OUT/story-$name.json
    local reports=$OUT/schemathesis
    [[ "$name" == sqlite ]] || reports=$OUT/schemathesis-$name
    CL_ADMIN_TOKEN=$(curl -sf "$url/v1/auth/token" -H 'Content-Type: application/json' \
        --data-binary @<("$VENV/bin/python" -c 'import json,sys; print(json.dumps({"email": sys.argv[1], "password": open(sys.argv[2]).readline().rstrip("\n")}))' "$ADMIN_EMAIL" "$TMP/admin-password") \
        | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])') || return 1
    export CL_ADMIN_TOKEN
    local key value
    for key in project_id grant_id distribution_id transaction_id contribution_id agent_id account_name; do
        value=$("$VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$ids" "$key") || return 1
        export "CL_${key^^}=$value"
    done
    rm -rf "$reports"
    local rc=0
    # Schemathesis's default checks, plus conformance of every response body
    # to its schema (issue #8). Not `all`: positive_data_acceptance counts a
    # business refusal of generated data (an unknown agent, insufficient
    # funds) as a failure.
    local CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance
    # Examples, coverage and fuzzing, every operation, aimed at the story's data.
    "$VENV/bin/schemathesis" --no-color --config-file conformance/schemathesis.toml run "$SPEC" \
        --url "$url" \
        --checks "$CHECKS" \
        --phases examples,coverage,fuzzing \
        --max-examples "${CONFORMANCE_MAX_EXAMPLES:-30}" \
        --max-time "$max_time" \
        --report junit --report-dir "$reports" \
        --report-junit-path "$reports/junit-operations.xml" \
        || rc=1
    # Stateful: sequences along the links schemathesis infers.
    if [[ "$stateful_max_time" != 0 ]]; then
        "$VENV/bin/schemathesis" --no-color --config-file conformance/schemathesis-stateful.toml run "$SPEC" \
            --url "$url" \
            --checks "$CHECKS" \
            --phases stateful \
            --max-time "$stateful_max_time" \
            --report junit --report-dir "$reports" \
            --report-junit-path "$reports/junit-stateful.xml" \
            || rc=1
    fi
    return $rc
}
if [[ "${CONFORMANCE_SKIP_SCHEMATHESIS:-0}" != 1 ]]; then
    check "schemathesis on SQLite" schemathesis_run sqlite "$SQLITE_URL" \
        "${CONFORMANCE_MAX_TIME:-300}" "${CONFORMANCE_STATEFUL_MAX_TIME:-240}"
    if [[ -n "$PG_ADMIN_URL" ]]; then
        check "schemathesis on PostgreSQL" schemathesis_run postgres "$POSTGRES_URL" \
            "${CONFORMANCE_POSTGRES_MAX_TIME:-180}" "${CONFORMANCE_POSTGRES_STATEFUL_MAX_TIME:-0}"
    else
        echo "=== schemathesis on PostgreSQL: skipped (COMMONS_LEDGER_TEST_POSTGRES_URL is not set)"
    fi
fi

# --- summary -----------------------------------------------------------------------------------
echo
echo "=== timings"
printf '  %s\n' "${TIMINGS[@]}"
if [[ ${#FAILURES[@]} -gt 0 ]]; then
    echo "=== FAILED:"
    printf '  %s\n' "${FAILURES[@]}"
    exit 1
fi
echo "=== conformance: all passed"
