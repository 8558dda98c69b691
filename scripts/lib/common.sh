# shellcheck shell=bash
# Shared by scripts/dev, scripts/test and .ci/run: installing what Beacon needs (idempotent,
# pinned, cached outside the repo) and starting/stopping the local stand-ins for Kafka (Tansu)
# and MongoDB (SecantusDB) on loopback.

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BEACON_CACHE="${BEACON_CACHE:-$HOME/.cache/beacon}"
TOOLS_DIR="$BEACON_CACHE/tools"
TANSU_VERSION="0.6.0"
SECANTUS_VERSION="0.7.0b3"
SECANTUS_VENV="$BEACON_CACHE/secantusdb-$SECANTUS_VERSION"
# The API fuzzer of scripts/fuzz-api (PyPI), driven by docs/openapi.json.
SCHEMATHESIS_VERSION="4.32.5"
SCHEMATHESIS_VENV="$BEACON_CACHE/schemathesis-$SCHEMATHESIS_VERSION"
# The default country database: ip-location-db's geo-whois-asn-country, an npm package (CC0-1.0;
# its data comes from the five RIRs, CC BY 4.0 by the NRO). Pinned, with the checksum of the file
# used. This is the package's last npm release: its maintainers announced that they stop
# publishing on npm (README of the package), so a newer snapshot means a new source.
GEOIP_PACKAGE="@ip-location-db/geo-whois-asn-country-mmdb"
GEOIP_VERSION="2.3.2026061719"
GEOIP_FILE="geo-whois-asn-country.mmdb"
GEOIP_SHA256="c5f7c0e9bd6a6ccb5a2e9634764544a0d08bd0bd8788b8aedfac87bea184c652"
GEOIP_PACKAGE_DIR="$BEACON_CACHE/geoip-$GEOIP_VERSION/node_modules/$GEOIP_PACKAGE"
GEOIP_DEFAULT_DB="$GEOIP_PACKAGE_DIR/$GEOIP_FILE"
APT_PACKAGES=(build-essential cmake pkg-config libcurl4-openssl-dev zlib1g-dev python3 python3-venv curl bc)

export PATH="$TOOLS_DIR/bin:$HOME/.cargo/bin:$PATH"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root (or sudo) to run: $*"
  fi
}

# ensure_apt_packages [PKG...]: installs the given (default: APT_PACKAGES) if missing.
ensure_apt_packages() {
  local missing=() pkg wanted=("$@")
  [ ${#wanted[@]} -gt 0 ] || wanted=("${APT_PACKAGES[@]}")
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_rust_toolchain() {
  command -v rustup >/dev/null || die "rustup not found: install Rust from rustup.rs first"
  # rust-toolchain.toml pins the version, components and the wasm32 target.
  (cd "$REPO_ROOT" && rustup toolchain install >/dev/null 2>&1 || rustup show active-toolchain >/dev/null)
  (cd "$REPO_ROOT" && rustup target add wasm32-unknown-unknown >/dev/null 2>&1) || true
}

ensure_tansu() {
  if [ -x "$TOOLS_DIR/bin/tansu" ] && "$TOOLS_DIR/bin/tansu" --version 2>/dev/null | grep -q "$TANSU_VERSION"; then
    return 0
  fi
  log "installing Tansu $TANSU_VERSION (Kafka-compatible broker; first time only, takes a while)"
  mkdir -p "$TOOLS_DIR"
  (cd "$BEACON_CACHE" && cargo install tansu --version "$TANSU_VERSION" --locked \
    --features dynostore,libsql --root "$TOOLS_DIR" --quiet)
}

ensure_secantus() {
  if [ -x "$SECANTUS_VENV/bin/secantusd-py" ]; then
    return 0
  fi
  log "installing SecantusDB $SECANTUS_VERSION (MongoDB wire protocol server) in $SECANTUS_VENV"
  rm -rf "$SECANTUS_VENV"
  python3 -m venv "$SECANTUS_VENV"
  "$SECANTUS_VENV/bin/pip" install --quiet --disable-pip-version-check --pre "SecantusDB==$SECANTUS_VERSION"
}

# ensure_schemathesis: installs the pinned Schemathesis in its own venv (first time only). The
# version check, not the file's presence, says it is there, so an interrupted install is redone.
ensure_schemathesis() {
  if "$SCHEMATHESIS_VENV/bin/st" --version 2>/dev/null | grep -qF "version $SCHEMATHESIS_VERSION"; then
    return 0
  fi
  log "installing Schemathesis $SCHEMATHESIS_VERSION (API fuzzer) in $SCHEMATHESIS_VENV"
  rm -rf "$SCHEMATHESIS_VENV"
  python3 -m venv "$SCHEMATHESIS_VENV"
  "$SCHEMATHESIS_VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
}

# ensure_geoip: installs the default country database in $BEACON_CACHE/geoip-<version>/ (npm,
# first time only) and checks it is the pinned file. Returns non-zero, saying why, if npm or the
# registry is unavailable or the file differs; the caller decides whether that is fatal.
ensure_geoip() {
  [ -s "$GEOIP_DEFAULT_DB" ] && return 0
  command -v npm >/dev/null || ensure_apt_packages nodejs npm
  local dir="$BEACON_CACHE/geoip-$GEOIP_VERSION" partial
  log "installing the country database ($GEOIP_PACKAGE@$GEOIP_VERSION) in $dir"
  mkdir -p "$BEACON_CACHE"
  # Into a scratch directory first, so an interrupted install never looks complete.
  partial="$(mktemp -d "$BEACON_CACHE/geoip.partial.XXXXXX")"
  if ! npm install --prefix "$partial" --no-save --no-package-lock --no-audit --no-fund \
      --silent "$GEOIP_PACKAGE@$GEOIP_VERSION" >&2; then
    rm -rf "$partial"
    log "npm could not install $GEOIP_PACKAGE@$GEOIP_VERSION"
    return 1
  fi
  if ! echo "$GEOIP_SHA256  $partial/node_modules/$GEOIP_PACKAGE/$GEOIP_FILE" | sha256sum --check --quiet; then
    rm -rf "$partial"
    log "$GEOIP_PACKAGE@$GEOIP_VERSION: $GEOIP_FILE is not the pinned file (sha256 $GEOIP_SHA256)"
    return 1
  fi
  chmod 755 "$partial"
  rm -rf "$dir" && mv "$partial" "$dir"
}

# use_default_geoip: exports GEOIP_DB as the installed default database unless the environment
# or .env already sets GEOIP_DB (the operator's choice wins). Without either, GEOIP_DB stays
# unset: ingestion then starts with a warning and every country "unknown".
# GEOIP_IN_USE says which, for the scripts' summaries.
use_default_geoip() {
  if [ -n "${GEOIP_DB:-}" ]; then
    GEOIP_IN_USE="$GEOIP_DB (GEOIP_DB from the environment)"
  elif grep -qsE '^[[:space:]]*(export[[:space:]]+)?GEOIP_DB=' "$REPO_ROOT/.env"; then
    GEOIP_IN_USE="GEOIP_DB from .env"
  elif [ -s "$GEOIP_DEFAULT_DB" ]; then
    export GEOIP_DB="$GEOIP_DEFAULT_DB"
    GEOIP_IN_USE="$GEOIP_DB ($GEOIP_PACKAGE@$GEOIP_VERSION)"
  else
    GEOIP_IN_USE="none: every country \"unknown\""
    log "warning: no country database installed; every country will be \"unknown\""
  fi
  log "countries: $GEOIP_IN_USE"
}

# Headless Chromium, its driver (the tracker's wasm-bindgen tests) and Node.js (with
# playwright-core and Plausible's npm trackers from e2e/package-lock.json) for the browser tests. Debian's chromium; Node 18+ from Debian when the machine has none.
ensure_browser_tools() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    ensure_apt_packages nodejs npm
  fi
  [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || ensure_apt_packages chromium chromium-driver
  # npm ci again whenever the lockfile changed since the last install (a new test dependency).
  local installed="$REPO_ROOT/e2e/node_modules/.package-lock.json"
  if [ ! -f "$installed" ] || [ "$REPO_ROOT/e2e/package-lock.json" -nt "$installed" ]; then
    log "installing the browser-test dependencies (npm ci in e2e/)"
    (cd "$REPO_ROOT/e2e" && npm ci --no-audit --no-fund --silent)
  fi
}

# Everything the system needs, in order. Safe to run again: each step skips what is present.
ensure_all() {
  mkdir -p "$BEACON_CACHE"
  ensure_apt_packages
  ensure_rust_toolchain
  ensure_tansu
  ensure_secantus
}

# --- processes -------------------------------------------------------------------------------

BEACON_PIDS=()

# start NAME LOGFILE CMD...: runs CMD in the background and remembers it for stop_all.
start() {
  local name="$1" logfile="$2"; shift 2
  "$@" >"$logfile" 2>&1 &
  BEACON_PIDS+=("$!:$name")
}

# wait_port HOST PORT NAME [SECONDS]: until something accepts TCP connections there.
wait_port() {
  local host="$1" port="$2" name="$3" seconds="${4:-60}" i
  for ((i = 0; i < seconds * 10; i++)); do
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  die "$name did not start listening on $host:$port within ${seconds}s"
}

# wait_http URL NAME [SECONDS]: until URL answers 200.
wait_http() {
  local url="$1" name="$2" seconds="${3:-60}" i
  for ((i = 0; i < seconds * 10; i++)); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  die "$name was not ready at $url within ${seconds}s"
}

# port_free PORT: true if nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_tansu PORT STORAGE_URL LOGFILE [WORKDIR]
start_tansu() {
  local port="$1" storage="$2" logfile="$3" workdir="${4:-$BEACON_CACHE}"
  port_free "$port" || die "port $port is taken; stop whatever listens there first"
  start tansu "$logfile" bash -c "cd '$workdir' && exec tansu broker \
    --listener-url tcp://127.0.0.1:$port --advertised-listener-url tcp://127.0.0.1:$port \
    --storage-engine '$storage'"
  wait_port 127.0.0.1 "$port" "Tansu"
}

# start_secantus PORT STORAGE_PATH LOGFILE [TTL_SWEEP_SECONDS]
#
# TTL_SWEEP_SECONDS (default SecantusDB's 60, as mongod's) is how often expired documents are
# deleted. scripts/bench passes a longer one: SecantusDB's sweeper decodes every document of
# each collection with a TTL index while holding the store's lock (mongod's reads the index
# instead). With 300,000 events stored that stopped every read and write for 3.4 s a minute; it
# grows with the count, and with 3.6 million one end-to-end sample waited 48 s
# (docs/benchmarks.md).
start_secantus() {
  local port="$1" storage="$2" logfile="$3" sweep="${4:-}" launcher
  port_free "$port" || die "port $port is taken; stop whatever listens there first"
  launcher=("$SECANTUS_VENV/bin/python" "$REPO_ROOT/scripts/lib/secantusd_launch.py")
  [ -z "$sweep" ] || launcher+=(--ttl-sweep-seconds "$sweep")
  start secantusdb "$logfile" "${launcher[@]}" \
    --host 127.0.0.1 --port "$port" --storage-path "$storage" --log-level WARNING
  wait_port 127.0.0.1 "$port" "SecantusDB"
}

# dump_secantus_threads LOGFILE: every SecantusDB thread's stack, written by the server to its
# log (scripts/lib/secantusd_launch.py) and printed from there.
dump_secantus_threads() {
  local logfile="$1" entry lines
  for entry in "${BEACON_PIDS[@]}"; do
    [ "${entry#*:}" = secantusdb ] || continue
    lines=$(wc -l <"$logfile")
    kill -USR1 "${entry%%:*}" 2>/dev/null || return 0
    sleep 2
    echo "--- SecantusDB threads"
    tail -n "+$((lines + 1))" "$logfile"
  done
}

# bounded SECONDS CMD...: CMD, failed after SECONDS. A stand-in that stops answering leaves the
# drivers waiting forever; a bound turns that into a failure that shows where it hung.
bounded() {
  local seconds="$1" status=0; shift
  timeout --kill-after=20 "$seconds" "$@" || status=$?
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    log "$1 did not finish within $seconds s"
    [ -z "${SECANTUS_LOG:-}" ] || dump_secantus_threads "$SECANTUS_LOG"
  fi
  return "$status"
}

# start_services BIN_DIR LOG_DIR: post_service, worker and report_service from BIN_DIR, configured
# by the environment, then waits until each answers /readyz (INGEST_PORT, WORKER_PORT and
# REPORT_PORT, defaults 3000, 3001 and 4000).
start_services() {
  local bin="$1" logs="$2" service
  for service in post_service worker report_service; do
    start "$service" "$logs/$service.log" "$bin/$service"
  done
  wait_http "http://127.0.0.1:${INGEST_PORT:-3000}/readyz" post_service
  wait_http "http://127.0.0.1:${WORKER_PORT:-3001}/readyz" worker
  wait_http "http://127.0.0.1:${REPORT_PORT:-4000}/readyz" report_service
}

# register_bench_site BIN MONGO_URL SITE: registers SITE (public: no key) with the goals and funnel
# the report benchmarks read (`signup` events, `/pricing` views, a three-step `signup` funnel).
# Fails, changing nothing, if SITE is registered already (a data dir kept from an earlier run).
register_bench_site() {
  local bin="$1" mongo="$2" site="$3"
  MONGO_URL="$mongo" "$bin/beacon-admin" site add "$site" --public >/dev/null 2>&1 || return 1
  admin() { MONGO_URL="$mongo" "$bin/beacon-admin" "$@" >/dev/null; }
  admin goal add "$site" --event signup
  admin goal add "$site" --page /pricing
  admin funnel add "$site" signup --step page:/ --step page:/pricing --step event:signup
}

# write_section DOC MARKER SECTION_FILE: replaces what stands between `<!-- MARKER:start -->` and
# `<!-- MARKER:end -->` in DOC (both lines included) with SECTION_FILE, which carries the markers
# itself; appends the markers first if DOC has none.
write_section() {
  local doc="$1" marker="$2" section="$3" tmp
  grep -q "<!-- $marker:start -->" "$doc" ||
    printf '\n<!-- %s:start -->\n<!-- %s:end -->\n' "$marker" "$marker" >>"$doc"
  tmp="$(mktemp)"
  awk -v file="$section" -v start="<!-- $marker:start -->" -v end="<!-- $marker:end -->" '
    index($0, start) { while ((getline line < file) > 0) print line; skip = 1; next }
    index($0, end) { skip = 0; next }
    !skip { print }' "$doc" >"$tmp" && cat "$tmp" >"$doc"
  rm -f "$tmp"
}

# stop_all: SIGTERM everything started, newest first, and wait (SIGKILL after 15 s).
stop_all() {
  local i entry pid name
  for ((i = ${#BEACON_PIDS[@]} - 1; i >= 0; i--)); do
    entry="${BEACON_PIDS[$i]}"; pid="${entry%%:*}"; name="${entry#*:}"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then
        log "$name did not stop in 15 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
  done
  BEACON_PIDS=()
}
