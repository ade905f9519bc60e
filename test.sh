#!/usr/bin/env bash
# The README's test command. On a fresh Debian 12 machine with the .NET 10 SDK it:
#   1. installs what the tests need from Debian's packages (only what is missing),
#   2. starts PostgreSQL and Redis on loopback ports in a temporary folder,
#   3. builds the solution and runs every test project (the browser tests inside a private network namespace,
#      so WebRTC uses loopback only),
#   4. stops the servers and prints one closing line "N passed, N failed, N skipped" summed over all projects.
# It exits non-zero when any test failed, any project did not report, or no test ran.
# Options: --filter EXPR (passed to dotnet test), --project NAME (run only tests/NAME), --keep (leave the temp folder).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
root=$PWD
filter=""
only=""
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --filter) filter="$2"; shift 2 ;;
    --project) only="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "test.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

log() { printf '[test.sh] %s\n' "$*" >&2; }

# ---------------------------------------------------------------- 1. Debian packages
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }
packages=(postgresql redis-server coturn zbar-tools chromium iproute2 util-linux)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing from Debian's packages: ${missing[*]}"
  as_root apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || { echo "test.sh: apt-get install ${missing[*]} failed" >&2; exit 1; }
fi

# ---------------------------------------------------------------- 2. servers on loopback
work=$(mktemp -d /tmp/qrcalling-test.XXXXXX)
chmod 755 "$work"
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$pg_bin/pg_ctl" ] || { echo "test.sh: PostgreSQL binaries not found under /usr/lib/postgresql" >&2; exit 1; }

free_port() { # first port from $1 up that nothing listens on
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_port=$(free_port 55432)
mkdir -p "$work/pg" "$work/pgsock" "$work/pglog" "$work/redis" "$work/results"
[ "$(id -u)" -eq 0 ] && chown postgres "$work/pg" "$work/pgsock" "$work/pglog"
cleanup() {
  [ -f "$work/pg/postmaster.pid" ] && as_postgres "$pg_bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1
  [ -f "$work/redis.pid" ] && kill "$(cat "$work/redis.pid")" 2>/dev/null
  if [ "$keep" -eq 0 ]; then rm -rf "$work"; else log "kept $work"; fi
}
trap cleanup EXIT

log "starting PostgreSQL on 127.0.0.1:$pg_port"
as_postgres "$pg_bin/initdb" -D "$work/pg" -U postgres --auth=trust --locale=C.UTF-8 -E UTF8 >"$work/initdb.log" 2>&1 \
  || { cat "$work/initdb.log" >&2; echo "test.sh: initdb failed" >&2; exit 1; }
as_postgres "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pglog/pg.log" -w -t 60 \
  -o "-p $pg_port -k $work/pgsock -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null || { cat "$work/pglog/pg.log" >&2; echo "test.sh: PostgreSQL did not start" >&2; exit 1; }

redis_port=$(free_port 56379)
log "starting Redis on 127.0.0.1:$redis_port"
redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --dir "$work/redis" --save "" --appendonly no \
  --pidfile "$work/redis.pid" --logfile "$work/redis.log" || { echo "test.sh: redis-server did not start" >&2; exit 1; }
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$redis_port" ping >/dev/null 2>&1 || { cat "$work/redis.log" >&2; echo "test.sh: Redis does not answer" >&2; exit 1; }

export QRCALLING_TEST_POSTGRES="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres;Maximum Pool Size=50"
export QRCALLING_TEST_REDIS="127.0.0.1:$redis_port"
export QRCALLING_TEST_ARTIFACTS="$work/results"

# ---------------------------------------------------------------- 3. build and test
log "building"
if ! dotnet build QrCalling.sln -c Debug -nologo -clp:ErrorsOnly >"$work/build.log" 2>&1; then
  grep -E 'error|Error' "$work/build.log" | sort -u | head -50 >&2
  echo "0 passed, 1 failed, 0 skipped"
  echo "test.sh: the build failed" >&2
  exit 1
fi

passed=0 failed=0 skipped=0 broken=0
run_project() { # name, [wrapper...]
  local name=$1; shift
  local out="$work/results/$name.log"
  local args=(test "tests/$name" --no-build -nologo --results-directory "$work/results/$name")
  [ -n "$filter" ] && args+=(--filter "$filter")
  log "testing $name"
  "$@" dotnet "${args[@]}" >"$out" 2>&1
  local code=$?
  grep -E '^\s*(Failed|Skipped) |^\s+Error Message:' -A2 "$out" | head -60 >&2
  local line
  line=$(grep -E '(Passed|Failed)!\s+-\s+Failed:' "$out" | tail -n 1)
  if [ -z "$line" ]; then
    if grep -q 'No test matches the given testcase filter' "$out"; then return; fi
    tail -n 30 "$out" >&2
    log "$name: no test summary (exit $code)"
    broken=$((broken + 1))
    return
  fi
  local f p s
  f=$(sed -E 's/.*Failed:\s*([0-9]+).*/\1/' <<<"$line")
  p=$(sed -E 's/.*Passed:\s*([0-9]+).*/\1/' <<<"$line")
  s=$(sed -E 's/.*Skipped:\s*([0-9]+).*/\1/' <<<"$line")
  log "$name: $p passed, $f failed, $s skipped"
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
  if [ "$code" -ne 0 ] && [ "$f" -eq 0 ]; then broken=$((broken + 1)); fi
}

in_namespace() { # run a command in a private network namespace with only loopback up
  local flags=-n
  [ "$(id -u)" -eq 0 ] || flags=-rn
  unshare "$flags" bash -c 'ip link set lo up && exec "$@"' bash "$@"
}

for proj in QrCalling.Core.Tests QrCalling.Hosting.Tests QrCalling.Storage.Postgres.Tests QrCalling.Storage.Redis.Tests QrCalling.Browser.Tests; do
  [ -n "$only" ] && [ "$only" != "$proj" ] && continue
  [ -d "tests/$proj" ] || continue
  if [ "$proj" = QrCalling.Browser.Tests ]; then
    run_project "$proj" in_namespace
  else
    run_project "$proj"
  fi
done

# ---------------------------------------------------------------- 4. the closing line
status=0
[ "$broken" -gt 0 ] && { log "$broken project(s) crashed or gave no summary (counted as failed)"; status=1; }
[ "$failed" -gt 0 ] && status=1
[ $((passed + failed)) -eq 0 ] && { log "no test ran"; status=1; }
echo "$passed passed, $((failed + broken)) failed, $skipped skipped"
exit $status
