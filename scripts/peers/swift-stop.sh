#!/usr/bin/env bash
# Stops the Swift test peer started by swift-start.sh, by the PIDs in its run dir (each one the
# leader of a process group). Keeps its data; --purge also deletes the run dir and the data.
# Same settings as swift-start.sh: SWIFT_RUN, SWIFT_DEVICES.
set -uo pipefail

RUN=${SWIFT_RUN:-/tmp/signet-peers/swift}
DEVICES=${SWIFT_DEVICES:-/dev/shm/signet-peers/swift}

# Whether pid is still our server ($2 in its command line), not a reused pid, and running: an
# exited server stays a zombie until PID 1 reaps it, which can take seconds in a container.
ours() {
  [ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)" != Z ] &&
    [[ "$(tr '\0' ' ' <"/proc/$1/cmdline")" == *"$2"* ]]
}

for name in proxy object container account memcached; do
  pidfile=$RUN/pids/$name.pid
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  command=swift-$name-server
  [ "$name" = memcached ] && command=memcached
  if ours "$pid" "$command"; then
    kill -TERM -- "-$pid" 2>/dev/null
    for _ in $(seq 1 50); do
      ours "$pid" "$command" || break
      sleep 0.1
    done
    ours "$pid" "$command" && kill -KILL -- "-$pid" 2>/dev/null
  fi
  rm -f "$pidfile"
done

if [ "${1:-}" = "--purge" ]; then
  rm -rf "$RUN" "$DEVICES"
fi
echo "swift: stopped"
