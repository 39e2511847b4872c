#!/usr/bin/env bash
# The floor under a distribution draft over 1,000,000 contributions on
# SQLite: the time of its two whole-period statements run by sqlite3 alone
# (then what the selection's insert pays for: selection_costs_*.sql),
# without the service (docs/benchmarks.md, "Distributions: the floor").
# Usage: benches/sql/distribution_floor.sh [BINARY]   (default target/release/commons-ledger)
#        benches/sql/distribution_floor.sh --postgres [BINARY]   (a fresh database cl_floor on
#        127.0.0.1:5432, dropped afterwards; the same statements timed by psql)
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ "${1:-}" == --postgres ]]; then
    binary=${2:-target/release/commons-ledger}
    admin=(psql -q -h 127.0.0.1 -U postgres -d postgres)
    "${admin[@]}" -c 'DROP DATABASE IF EXISTS cl_floor' -c 'CREATE DATABASE cl_floor'
    trap '"${admin[@]}" -c "DROP DATABASE IF EXISTS cl_floor WITH (FORCE)"' EXIT
    "$binary" migrate --database-url "postgres://postgres@127.0.0.1:5432/cl_floor?sslmode=disable" >/dev/null
    echo "seeding 1,000,000 contributions"
    time psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d cl_floor \
        -f benches/sql/seed_distribution_postgres.sql
    psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d cl_floor -f benches/sql/counted_view.sql
    for run in 1 2 3; do
        echo "== run $run: the sums, then the selection (rolled back)"
        sed -e 's/^\.timer on/\\timing on/' -e '/^PRAGMA/d' benches/sql/distribution_floor.sql \
            | psql -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d cl_floor
    done
    echo "== what the selection's insert pays for"
    psql -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d cl_floor -f benches/sql/selection_costs_postgres.sql
    exit 0
fi
binary=${1:-target/release/commons-ledger}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$binary" migrate --database-url "sqlite://$dir/floor.db" >/dev/null
echo "seeding 1,000,000 contributions"
time sqlite3 "$dir/floor.db" < benches/sql/seed_distribution.sql >/dev/null
sqlite3 "$dir/floor.db" < benches/sql/counted_view.sql
for run in 1 2 3; do
    echo "== run $run: the sums, then the selection (rolled back)"
    sqlite3 "$dir/floor.db" < benches/sql/distribution_floor.sql
done
echo "== what the selection's insert pays for: the same with foreign keys off"
sqlite3 "$dir/floor.db" < benches/sql/selection_costs_sqlite.sql
