#!/usr/bin/env bash
# The load tool's figures in one command, each against its baseline in the same run (issue 9's table):
#   eng/load.sh [memory] [postgres] [redis] [idle]     (default: all four; output in artifacts/load/*.txt)
# memory:   the sample host on its in-memory store: relay (against a bare Kestrel WebSocket relay, a bare SignalR hub
#           and a PeerJS server) over JSON and over MessagePack, 60 s of sustained set-ups, one call relaying at full
#           speed for 60 s (longcall: nothing lost, nothing refused), and the relay again with 5,000 idle owner
#           connections on the host.
# postgres: the JSON relay, sustained set-ups and longcall on PostgreSQL (a throwaway cluster on 127.0.0.1:25450, fsync
#           off), then `pgbench -S`.
# redis:    the same three on two host instances over Redis (127.0.0.1:26390), callers on the second; then
#           `redis-benchmark`.
# idle:     10,000 idle owner hub connections: the host's RSS per connection against a bare SignalR hub and Kestrel,
#           on Server GC (the sample's default) and again on Workstation GC.
# Needs what test.sh installs (PostgreSQL 15, Redis, Node.js and npm for PeerJS) and runs as root (PostgreSQL runs as
# the postgres user). Loopback only. Every server is warmed up before it is measured (the tool's --warmup-seconds).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
which=("$@")
[ ${#which[@]} -eq 0 ] && which=(memory postgres redis idle)
out=artifacts/load
mkdir -p "$out"
work=$(mktemp -d /tmp/qrcalling-load.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

dotnet build -c Release samples/QrCalling.SampleHost -v q -nologo > "$out/build.txt"
dotnet build -c Release tests/QrCalling.LoadTest -v q -nologo >> "$out/build.txt"
host_dll=samples/QrCalling.SampleHost/bin/Release/net10.0/QrCalling.SampleHost.dll
load() { dotnet tests/QrCalling.LoadTest/bin/Release/net10.0/QrCalling.LoadTest.dll "$@"; }
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

# The rate limits of the sample host raised for one address (tests/QrCalling.LoadTest/Program.cs's header).
export Logging__LogLevel__Default=Warning ASPNETCORE_ENVIRONMENT=Production QrCalling__PublicBaseUrl=http://127.0.0.1/c
export QrCalling__Sample__AccountPermitsPerMinute=100000 QrCalling__RateLimits__ScansPerClient=100000
export QrCalling__RateLimits__CallsPerClient=100000 QrCalling__RateLimits__CallsPerCode=100000
export QrCalling__RateLimits__HubBurst=100000 QrCalling__RateLimits__HubPerSecond=100000
export QrCalling__RateLimits__RequestsPerParticipant=100000 QrCalling__RateLimits__FailedAttemptsPerClient=100000
export QrCalling__RateLimits__OwnerRequestsPerOwner=100000 QrCalling__RateLimits__HubConnectionsPerClient=1000000
export QrCalling__RateLimits__HubConnectionsPerOwner=100000
ulimit -n 20000

start_host() { # port log -> prints the pid
  dotnet "$host_dll" --urls "http://127.0.0.1:$1" > "$2" 2>&1 &
  local pid=$!
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$1/health/live" > /dev/null && { echo "$pid"; return; }; sleep 0.5; done
  echo "the host on port $1 did not start; see $2" >&2; kill "$pid" 2> /dev/null; exit 1
}
stop() { kill "$@" 2> /dev/null || true; wait "$@" 2> /dev/null || true; }

for w in "${which[@]}"; do
  case "$w" in
  memory)
    pid=$(start_host 5090 "$out/host-memory.log")
    load http://127.0.0.1:5090 --host-pid "$pid" > "$out/memory-relay.txt" || true
    load http://127.0.0.1:5090 --host-pid "$pid" --protocol messagepack > "$out/memory-relay-messagepack.txt" || true
    load http://127.0.0.1:5090 --host-pid "$pid" --mode sustained --seconds 60 > "$out/memory-sustained.txt" || true
    load http://127.0.0.1:5090 --host-pid "$pid" --mode longcall --duration-seconds 60 > "$out/memory-longcall.txt" || true
    load http://127.0.0.1:5090 --host-pid "$pid" --crowd 5000 > "$out/memory-relay-crowd.txt" || true
    stop "$pid" ;;
  postgres)
    mkdir -p "$work/pg" "$work/pgsock" "$work/pglog"; chown postgres "$work/pg" "$work/pgsock" "$work/pglog"
    runuser -u postgres -- "$pgbin/initdb" -D "$work/pg" -U postgres --auth=trust --locale=C.UTF-8 -E UTF8 > /dev/null
    # Its port is below the ephemeral range (32768-60999 here): the load tool's thousands of client sockets take local
    # ports from that range, and one of them on the server's port made the bind fail. A port freed a moment ago may
    # still refuse to bind: try a few times.
    started=0
    for _ in 1 2 3 4 5; do
      runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pglog/pg.log" -w -o "-p 25450 -k $work/pgsock -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start > /dev/null && { started=1; break; }
      sleep 3
    done
    [ "$started" = 1 ] || { cp "$work/pglog/pg.log" "$out/postgres.log" 2> /dev/null; echo "PostgreSQL did not start; see $out/postgres.log" >&2; exit 1; }
    export QrCalling__Storage=postgres ConnectionStrings__Postgres="Host=127.0.0.1;Port=25450;Username=postgres;Database=postgres;Maximum Pool Size=50"
    pid=$(start_host 5090 "$out/host-postgres.log")
    load http://127.0.0.1:5090 --host-pid "$pid" > "$out/postgres-relay.txt" || true
    load http://127.0.0.1:5090 --host-pid "$pid" --mode sustained --seconds 60 > "$out/postgres-sustained.txt" || true
    load http://127.0.0.1:5090 --host-pid "$pid" --mode longcall --duration-seconds 60 > "$out/postgres-longcall.txt" || true
    stop "$pid"
    unset QrCalling__Storage ConnectionStrings__Postgres
    runuser -u postgres -- pgbench -h 127.0.0.1 -p 25450 -U postgres -i -q postgres > /dev/null 2>&1
    runuser -u postgres -- pgbench -h 127.0.0.1 -p 25450 -U postgres -S -c 8 -j 2 -T 10 postgres 2>&1 | grep -E "^tps" > "$out/pgbench.txt" || true
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -m fast stop > /dev/null ;;
  redis)
    redis-server --daemonize yes --bind 127.0.0.1 --port 26390 --save "" --appendonly no --dir "$work" --pidfile "$work/redis.pid" --logfile "$work/redis.log"
    sleep 1
    export QrCalling__Storage=redis ConnectionStrings__Redis=127.0.0.1:26390,syncTimeout=15000,asyncTimeout=15000
    # Both instances must share the pepper and the sample's signing key, as a real deployment's instances do.
    export QrCalling__Pepper=load-test-pepper-0123456789abcdef0123456789 QrCalling__Sample__JwtKey=load-test-jwt-key-0123456789abcdef0123456789
    pid=$(start_host 5090 "$out/host-redis-1.log"); pid2=$(start_host 5091 "$out/host-redis-2.log")
    load http://127.0.0.1:5090 --caller-url http://127.0.0.1:5091 --host-pid "$pid" > "$out/redis-relay.txt" || true
    load http://127.0.0.1:5090 --caller-url http://127.0.0.1:5091 --host-pid "$pid" --mode sustained --seconds 60 > "$out/redis-sustained.txt" || true
    load http://127.0.0.1:5090 --caller-url http://127.0.0.1:5091 --host-pid "$pid" --mode longcall --duration-seconds 60 > "$out/redis-longcall.txt" || true
    stop "$pid" "$pid2"
    unset QrCalling__Storage ConnectionStrings__Redis QrCalling__Pepper QrCalling__Sample__JwtKey
    redis-benchmark -p 26390 -q -n 100000 -c 50 -t get,set 2>&1 | tr '\r' '\n' | grep "requests per second" > "$out/redis-benchmark.txt" || true
    redis-cli -p 26390 shutdown nosave > /dev/null 2>&1 || true ;;
  idle)
    pid=$(start_host 5090 "$out/host-idle.log")
    load http://127.0.0.1:5090 --host-pid "$pid" --mode idle --connections 10000 > "$out/idle.txt" || true
    stop "$pid"
    # The same on Workstation GC (docs/operations.md, "Idle hub connections"); the tool runs its baselines on it too.
    pid=$(DOTNET_gcServer=0 start_host 5090 "$out/host-idle-workstation.log")
    load http://127.0.0.1:5090 --host-pid "$pid" --mode idle --connections 10000 > "$out/idle-workstation.txt" || true
    stop "$pid" ;;
  *) echo "unknown: $w (memory, postgres, redis, idle)" >&2; exit 2 ;;
  esac
done
grep -hE "^QrCalling /|^set-ups|^set-up time|^machine CPU|^failures|^relayed|^caller |^owner |per connection|^tps|requests per second" "$out"/*.txt || true
