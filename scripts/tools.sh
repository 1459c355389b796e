#!/usr/bin/env bash
# Installs the development tools ststack's tests and lint need into .tools/
# (project-local, idempotent): the DynamoDB stand-in dynalite (npm), the Lambda
# Runtime Interface Emulator and staticcheck (Go module proxy).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tools=$root/.tools
mkdir -p "$tools/bin"

DYNALITE_VERSION=4.0.0
RIE_VERSION=v0.0.0-20261030222936-bef5c4ba774d
STATICCHECK_VERSION=v0.8.2

stamp() { [ -f "$tools/$1.stamp" ] && [ "$(cat "$tools/$1.stamp")" = "$2" ]; }

if ! stamp dynalite "$DYNALITE_VERSION" || [ ! -f "$tools/node_modules/dynalite/cli.js" ]; then
  echo "tools: installing dynalite@$DYNALITE_VERSION (npm)" >&2
  [ -f "$tools/package.json" ] || echo '{"private":true}' >"$tools/package.json"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "dynalite@$DYNALITE_VERSION" >&2
  echo "$DYNALITE_VERSION" >"$tools/dynalite.stamp"
fi

if ! stamp rie "$RIE_VERSION" || [ ! -x "$tools/bin/aws-lambda-rie" ]; then
  echo "tools: installing aws-lambda-rie@$RIE_VERSION (go)" >&2
  GOBIN="$tools/bin" GOFLAGS=-mod=mod go install "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$RIE_VERSION"
  echo "$RIE_VERSION" >"$tools/rie.stamp"
fi

if ! stamp staticcheck "$STATICCHECK_VERSION" || [ ! -x "$tools/bin/staticcheck" ]; then
  echo "tools: installing staticcheck@$STATICCHECK_VERSION (go)" >&2
  GOBIN="$tools/bin" GOFLAGS=-mod=mod go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
  echo "$STATICCHECK_VERSION" >"$tools/staticcheck.stamp"
fi

# --- Chromium, for the dashboard's end-to-end test (internal/dashboard,
# TestBrowser): Debian's chromium package, a system package, so not in .tools/.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "tools: installing chromium (apt)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  else
    echo "tools: /usr/bin/chromium is missing and this is not root: install Debian's chromium package (apt-get install chromium) for the dashboard's browser test" >&2
  fi
fi
# --- end of Chromium
