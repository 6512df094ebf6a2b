#!/usr/bin/env bash
# Starts Azurite's blob service (Microsoft's Azure Storage emulator, from npm) on 127.0.0.1 for
# the peer tests. Idempotent: installs Azurite into its own npm prefix under the run dir (never
# into the project), starts it in the background, waits until it answers, prints the endpoint.
#   SIGNET_PEERS_DIR  run dir (default: <repo>/.peers); Azurite lives in $SIGNET_PEERS_DIR/azurite
#   AZURITE_PORT      blob port (default 10000)
#   AZURITE_VERSION   npm version (default 3.35.0)
# Stop with azurite-stop.sh. The account is Azurite's public development account, devstoreaccount1,
# whose well-known key the tests use; it is not a secret.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${SIGNET_PEERS_DIR:-$ROOT/.peers}/azurite
PORT=${AZURITE_PORT:-10000}
VERSION=${AZURITE_VERSION:-3.35.0}
ENDPOINT=http://127.0.0.1:$PORT/devstoreaccount1
BIN=$DIR/node_modules/.bin/azurite-blob

# Up when Azurite answers (an unauthenticated listing gets a 403 naming its server), not when
# something else holds the port.
up() { curl -s -o /dev/null -D - -m 2 "$ENDPOINT?comp=list" 2>/dev/null | grep -qi '^server: azurite-blob'; }

if ! up; then
  mkdir -p "$DIR/data"
  if [ ! -x "$BIN" ] || [ "$("$BIN" --version 2>/dev/null)" != "$VERSION" ]; then
    echo "installing azurite@$VERSION into $DIR" >&2
    npm install --prefix "$DIR" --save-exact --no-audit --no-fund --loglevel=error "azurite@$VERSION" >&2
  fi
  # --disableTelemetry: Azurite would otherwise send usage data off the machine.
  # --skipApiVersionCheck: @azure/storage-blob 12.32 (the tests' setup client) sends x-ms-version
  #   2026-04-06, newer than Azurite 3.35 knows. The check looks only at that header; a SAS's sv
  #   still selects the string-to-sign Azurite verifies.
  # setsid: its own process group, so azurite-stop.sh can end it and its children together.
  setsid "$BIN" --blobHost 127.0.0.1 --blobPort "$PORT" --location "$DIR/data" \
    --disableTelemetry --skipApiVersionCheck --disableProductStyleUrl \
    >>"$DIR/azurite.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$DIR/azurite.pid"
  for _ in $(seq 1 150); do up && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  up || { echo "azurite did not start; see $DIR/azurite.log" >&2; exit 1; }
fi
echo "SIGNET_AZURITE_URL=$ENDPOINT"
