#!/usr/bin/env bash
# make run: serve everything locally (policy host, report endpoint,
# dashboard) from the example organisation, with an embedded store.
# Usage: run.sh STSTACK_BIN CONFIG ADDR DATA_DIR
set -euo pipefail
bin=$1 config=$2 addr=$3 data=$4
if ! "$bin" --help 2>/dev/null | grep -q '^  serve '; then
  echo "run: 'ststack serve' is not there yet; try: $bin config validate $config"
  exec "$bin" config validate "$config"
fi
args=(serve --config "$config" --addr "$addr" --data "$data")
# The sample reports fill the dashboard for a first look (marked as samples).
if "$bin" serve --help 2>&1 | grep -q -- '-sample-data'; then args+=(--sample-data); fi
exec "$bin" "${args[@]}"
