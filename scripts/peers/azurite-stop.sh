#!/usr/bin/env bash
# Stops the Azurite started by azurite-start.sh, by the PID it recorded (its own process group).
# --purge also deletes the install and the data ($SIGNET_PEERS_DIR/azurite, default <repo>/.peers/azurite).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${SIGNET_PEERS_DIR:-$ROOT/.peers}/azurite
PIDFILE=$DIR/azurite.pid

if [ -f "$PIDFILE" ]; then
  pid=$(cat "$PIDFILE")
  # Only if that PID is still our Azurite: a stale file may name a reused PID.
  if grep -qa azurite "/proc/$pid/cmdline" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
  fi
  rm -f "$PIDFILE"
fi
if [ "${1:-}" = "--purge" ]; then rm -rf "$DIR"; fi
echo "azurite stopped"
