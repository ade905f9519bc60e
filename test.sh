#!/usr/bin/env bash
# The README's test command. On a fresh Debian 12 machine with the .NET 10 SDK it:
#   1. installs what the tests need from Debian's packages (only what is missing),
#   2. restores and builds the solution (this needs the network),
#   3. enters a private network namespace with only loopback up (so every test, WebRTC included, talks to
#      127.0.0.1 only), starts PostgreSQL and Redis there in a temporary folder, runs every test project,
#   4. stops the servers and prints one closing line "N passed, N failed, N skipped" summed over all projects.
# It exits non-zero when any test failed, any project did not report, or no test ran.
# Options: --filter EXPR (passed to dotnet test), --project NAME (run only tests/NAME; Core, Hosting, Postgres, ... name it too), --keep (leave the temp folder).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
args=("$@")
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
projects=(QrCalling.Core.Tests QrCalling.Client.Tests QrCalling.Hosting.Tests QrCalling.Storage.Postgres.Tests QrCalling.Storage.Redis.Tests QrCalling.Browser.Tests QrCalling.Packaging.Tests)

if [ -z "${QRCALLING_TEST_INSIDE:-}" ]; then
  # ---------------------------------------------------------------- 1. Debian packages
  as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }
  packages=(postgresql redis-server coturn zbar-tools chromium iproute2 util-linux nginx nftables)
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

  # ---------------------------------------------------------------- 2. restore and build
  log "building"
  build_log=$(mktemp /tmp/qrcalling-build.XXXXXX.log)
  if ! dotnet build QrCalling.sln -c Debug -nologo -clp:ErrorsOnly >"$build_log" 2>&1; then
    grep -E 'error|Error' "$build_log" | sort -u | head -50 >&2
    log "the build failed (full log: $build_log)"
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
  fi
  rm -f "$build_log"

  # ---------------------------------------------------------------- 3. the rest inside a private network namespace
  ns_flags=-n
  [ "$(id -u)" -eq 0 ] || ns_flags=-rn   # unprivileged: a user namespace maps us to root inside
  export QRCALLING_TEST_INSIDE=1 QRCALLING_TEST_REAL_UID
  QRCALLING_TEST_REAL_UID=$(id -u)
  exec unshare "$ns_flags" bash -c 'ip link set lo up && exec bash "$0" "$@"' "${BASH_SOURCE[0]}" "${args[@]}"
fi

# ======================================================================== inside the namespace
work=$(mktemp -d /tmp/qrcalling-test.XXXXXX)
chmod 755 "$work"
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$pg_bin/pg_ctl" ] || { echo "test.sh: PostgreSQL binaries not found under /usr/lib/postgresql" >&2; exit 1; }
# PostgreSQL refuses to run as root: as real root, run it as the postgres user.
real_root=0
[ "${QRCALLING_TEST_REAL_UID:-1}" -eq 0 ] && real_root=1
as_postgres() { if [ "$real_root" -eq 1 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_port=55432
redis_port=56379
mkdir -p "$work/pg" "$work/pgsock" "$work/pglog" "$work/redis" "$work/results"
[ "$real_root" -eq 1 ] && chown postgres "$work/pg" "$work/pgsock" "$work/pglog"
# What CI keeps: each project's log and results, and the browser tests' screenshots (artifacts/ is git-ignored).
artifacts_dir="${QRCALLING_ARTIFACTS_DIR:-$PWD/artifacts/test-results}"
cleanup() {
  [ -f "$work/pg/postmaster.pid" ] && as_postgres "$pg_bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1
  [ -f "$work/redis.pid" ] && kill "$(cat "$work/redis.pid")" 2>/dev/null
  if [ -d "$work/results" ]; then
    rm -rf "$artifacts_dir" && mkdir -p "$artifacts_dir" && cp -r "$work/results/." "$artifacts_dir/" 2>/dev/null || true
  fi
  if [ "$keep" -eq 0 ]; then rm -rf "$work"; else log "kept $work"; fi
}
trap cleanup EXIT

log "starting PostgreSQL on 127.0.0.1:$pg_port"
as_postgres "$pg_bin/initdb" -D "$work/pg" -U postgres --auth=trust --locale=C.UTF-8 -E UTF8 >"$work/initdb.log" 2>&1 \
  || { cat "$work/initdb.log" >&2; echo "test.sh: initdb failed" >&2; exit 1; }
as_postgres "$pg_bin/pg_ctl" -D "$work/pg" -l "$work/pglog/pg.log" -w -t 60 \
  -o "-p $pg_port -k $work/pgsock -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null || { cat "$work/pglog/pg.log" >&2; echo "test.sh: PostgreSQL did not start" >&2; exit 1; }

log "starting Redis on 127.0.0.1:$redis_port"
redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --dir "$work/redis" --save "" --appendonly no \
  --pidfile "$work/redis.pid" --logfile "$work/redis.log" || { echo "test.sh: redis-server did not start" >&2; exit 1; }
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$redis_port" ping >/dev/null 2>&1 || { cat "$work/redis.log" >&2; echo "test.sh: Redis does not answer" >&2; exit 1; }

export QRCALLING_TEST_POSTGRES="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres;Maximum Pool Size=50"
# The library's fail-fast default is a 2 s timeout per Redis command. The tests that check it use their own servers and
# connections; everything else on the shared server gets 10 s, so that a stalled CI machine (one Redis read in a
# contract test timed out at 2 s on a fresh machine) is not taken for an outage.
export QRCALLING_TEST_REDIS="127.0.0.1:$redis_port,syncTimeout=10000,asyncTimeout=10000"
export QRCALLING_TEST_ARTIFACTS="$work/results"

# ---------------------------------------------------------------- 4. test
passed=0 failed=0 skipped=0 broken=0
run_project() { # name
  local name=$1
  local out="$work/results/$name.log"
  local test_args=(test "tests/$name" --no-build -nologo --results-directory "$work/results/$name" --logger "trx;LogFileName=$name.trx")
  [ -n "$filter" ] && test_args+=(--filter "$filter")
  log "testing $name"
  dotnet "${test_args[@]}" >"$out" 2>&1
  local code=$?
  grep -E '^\s*(Failed|Skipped) |^\s+Error Message:' -A2 "$out" | head -60 >&2
  local line
  line=$(grep -E '(Passed|Failed)!\s+-\s+Failed:' "$out" | tail -n 1)
  if [ -z "$line" ]; then
    if [ -n "$filter" ] && grep -q 'No test matches the given testcase filter' "$out"; then return; fi
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

for proj in "${projects[@]}"; do
  [ -n "$only" ] && [ "$only" != "$proj" ] && [ "QrCalling.$only.Tests" != "$proj" ] && [ "QrCalling.Storage.$only.Tests" != "$proj" ] && continue
  run_project "$proj"
done

# ---------------------------------------------------------------- 5. the closing line
status=0
[ "$broken" -gt 0 ] && { log "$broken project(s) crashed or gave no summary (counted as failed)"; status=1; }
[ "$failed" -gt 0 ] && status=1
[ $((passed + failed)) -eq 0 ] && { log "no test ran"; status=1; }
echo "$passed passed, $((failed + broken)) failed, $skipped skipped"
exit $status
