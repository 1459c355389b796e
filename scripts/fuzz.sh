#!/usr/bin/env bash
# Runs every Fuzz* target of the module for a short time each ($1, default 10s).
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-10s}
status=0
while IFS= read -r pkg; do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -hoE '^func (Fuzz[A-Za-z0-9_]+)' "$dir"/*_test.go 2>/dev/null | awk '{print $2}' | sort -u); do
    echo "fuzz: $pkg $f ($t)"
    go test -run='^$' -fuzz="^$f\$" -fuzztime="$t" "$pkg" || status=1
  done
done < <(go list ./...)
exit $status
