#!/usr/bin/env bash
# The floor under a distribution draft over 1,000,000 contributions on
# SQLite: the time of its two whole-period statements run by sqlite3 alone,
# without the service (docs/benchmarks.md, "Distributions: the floor").
# Usage: benches/sql/distribution_floor.sh [BINARY]   (default target/release/commons-ledger)
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=${1:-target/release/commons-ledger}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$binary" migrate --database-url "sqlite://$dir/floor.db" >/dev/null
echo "seeding 1,000,000 contributions"
time sqlite3 "$dir/floor.db" < benches/sql/seed_distribution.sql >/dev/null
for run in 1 2 3; do
    echo "== run $run: the sums, then the selection (rolled back)"
    sqlite3 "$dir/floor.db" < benches/sql/distribution_floor.sql
done
