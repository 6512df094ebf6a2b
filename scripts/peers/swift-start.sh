#!/usr/bin/env bash
# Signet's Swift test peer: a single-node OpenStack Swift 2.30 from Debian's packages, bound to
# 127.0.0.1 only, with tempauth, tempurl and s3api in the proxy pipeline. Used by the tempurl
# peer tests (test/peers/swift-tempurl.test.ts) and by the S3 tests through s3api.
#
#   scripts/peers/swift-start.sh     # installs if needed, starts in the background, waits, prints
#   scripts/peers/swift-stop.sh      # stops it (--purge also deletes its state)
#
# Idempotent: when the proxy already answers its healthcheck it only prints the endpoint.
# Settings (environment):
#   SWIFT_RUN      configs, rings, logs, pids        (default /tmp/signet-peers/swift)
#   SWIFT_DEVICES  object data; needs user xattrs     (default /dev/shm/signet-peers/swift)
#   SWIFT_PORT     proxy port; the account, container and object servers and memcached take the
#                  next four ports                    (default 18080)
# Data lives on tmpfs by default: ext4 caps xattrs at ~4 KB per file, and Swift keeps object
# metadata there, so objects with a few KB of X-Object-Meta fail (507) on /tmp.
set -euo pipefail

RUN=${SWIFT_RUN:-/tmp/signet-peers/swift}
DEVICES=${SWIFT_DEVICES:-/dev/shm/signet-peers/swift}
PORT=${SWIFT_PORT:-18080}
ENDPOINT=http://127.0.0.1:$PORT
declare -A PORTS=([account]=$((PORT + 1)) [container]=$((PORT + 2)) [object]=$((PORT + 3)))
MEMCACHED_PORT=$((PORT + 4))

print_endpoint() {
  cat <<EOF
SIGNET_SWIFT_URL=$ENDPOINT
swift: auth $ENDPOINT/auth/v1.0 (X-Auth-User: test:tester, X-Auth-Key: testing)
swift: storage URL $ENDPOINT/v1/AUTH_test
swift: s3api $ENDPOINT path-style, region us-east-1, access key test:tester, secret testing
swift: run dir $RUN, data $DEVICES
EOF
}

healthy() { # port
  [ "$(curl -s -m 2 "http://127.0.0.1:$1/healthcheck" || true)" = "OK" ]
}

# Whether pid is still our server ($2 in its command line), not a reused pid, and running: an
# exited server stays a zombie until PID 1 reaps it, which can take seconds in a container.
ours() {
  [ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)" != Z ] &&
    [[ "$(tr '\0' ' ' <"/proc/$1/cmdline")" == *"$2"* ]]
}
# Starts a server in the background as the leader of its own process group, so that
# swift-stop.sh can end it with everything it forked.
launch() { # name command...
  local name=$1 pidfile=$RUN/pids/$1.pid
  shift
  if [ -f "$pidfile" ] && ours "$(cat "$pidfile")" "$1"; then return; fi
  setsid "$@" >>"$RUN/log/$name.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
}

if healthy "$PORT"; then
  print_endpoint
  exit 0
fi

# 1. Packages. Debian's postinst scripts would start system-wide services; a policy-rc.d that
#    says 101 ("action forbidden") stops them, and is removed again if we created it.
if ! command -v swift-proxy-server >/dev/null || ! command -v memcached >/dev/null ||
  ! command -v swift-ring-builder >/dev/null || ! command -v curl >/dev/null; then
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  packages=(swift swift-proxy swift-account swift-container swift-object memcached)
  command -v curl >/dev/null || packages+=(curl) # listed only when missing: else apt upgrades it
  echo "swift: installing Debian packages" >&2
  apt-get update -qq -o DPkg::Lock::Timeout=300
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=300 "${packages[@]}" >/dev/null
fi

mkdir -p "$RUN/etc" "$RUN/log" "$RUN/pids" "$RUN/cache" "$DEVICES/d1"
if ! /usr/bin/python3 -c 'import os, sys
p = os.path.join(sys.argv[1], ".xattr-check")
open(p, "w").close()
try:
    os.setxattr(p, "user.signet", b"1")
finally:
    os.unlink(p)' "$DEVICES/d1" 2>/dev/null; then
  echo "swift: $DEVICES does not support user xattrs; set SWIFT_DEVICES (e.g. under /dev/shm)" >&2
  exit 1
fi

# 2. Configs, rewritten on every start so that they follow the settings above.
#    Servers log to their console (-v, captured in $RUN/log); syslog goes to a loopback UDP port
#    nobody reads, since containers have no /dev/log.
#    swift.conf's hash suffix only needs to be stable for this peer's own data.
cat >"$RUN/etc/swift.conf" <<EOF
[swift-hash]
swift_hash_path_suffix = signet-test-peer
[storage-policy:0]
name = Policy-0
default = yes
EOF
common="[DEFAULT]
bind_ip = 127.0.0.1
workers = 0
user = root
swift_dir = $RUN/etc
devices = $DEVICES
mount_check = false
disable_fallocate = true
log_udp_host = 127.0.0.1
log_udp_port = 9
recon_cache_path = $RUN/cache
"
for server in account container object; do
  cat >"$RUN/etc/$server-server.conf" <<EOF
${common}bind_port = ${PORTS[$server]}
[pipeline:main]
pipeline = healthcheck $server-server
[app:$server-server]
use = egg:swift#$server
[filter:healthcheck]
use = egg:swift#healthcheck
EOF
done
# tempauth users: user_<account>_<user> = <key> <groups>; s3api's access key is account:user
# and its secret the key. tempurl accepts sha256 and sha512 only (Signet never signs sha1).
cat >"$RUN/etc/proxy-server.conf" <<EOF
${common}bind_port = $PORT
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk tempurl s3api tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
# one device: without this, one 507 would block its object I/O for 60 s
error_suppression_interval = 1
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:tempurl]
use = egg:swift#tempurl
allowed_digests = sha256 sha512
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MEMCACHED_PORT
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
EOF

# 3. Rings: one replica, one device (d1) per server. Rebuilt when a port changed.
for server in account container object; do
  ring=$RUN/etc/$server
  stamp="127.0.0.1:${PORTS[$server]}"
  if [ ! -f "$ring.ring.gz" ] || [ "$(cat "$ring.port" 2>/dev/null)" != "$stamp" ]; then
    rm -f "$ring.builder" "$ring.ring.gz"
    swift-ring-builder "$ring.builder" create 10 1 1 >/dev/null
    swift-ring-builder "$ring.builder" add --region 1 --zone 1 --ip 127.0.0.1 \
      --port "${PORTS[$server]}" --device d1 --weight 100 >/dev/null
    swift-ring-builder "$ring.builder" rebalance >/dev/null
    echo "$stamp" >"$ring.port"
  fi
done

# 4. memcached (tempauth keeps its tokens there) and the four servers.
launch memcached memcached -u root -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 64
for server in account container object proxy; do
  launch "$server" "swift-$server-server" "$RUN/etc/$server-server.conf" -v
done

# 5. Wait (at most 60 s in all) for every server's healthcheck.
deadline=$((SECONDS + 60))
for port in "${PORTS[account]}" "${PORTS[container]}" "${PORTS[object]}" "$PORT"; do
  until healthy "$port"; do
    if ((SECONDS >= deadline)); then
      echo "swift: port $port not ready after 60 s; logs in $RUN/log" >&2
      exit 1
    fi
    sleep 0.2
  done
done
print_endpoint
