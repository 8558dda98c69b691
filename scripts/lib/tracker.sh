# shellcheck shell=bash
# The browser tracker's build: its tools (Trunk, the wasm-bindgen CLI, binaryen's wasm-opt,
# terser), pinned and installed into $TOOLS_DIR on first use; `build_site`, which builds
# demo-site/ with the wasm tracker into dist/ offline, minifies the tracker's JavaScript and
# enforces the tracker's size budget; and `test_tracker_in_browser`.
# Sourced after scripts/lib/common.sh (log, die, REPO_ROOT, BEACON_CACHE, TOOLS_DIR on PATH).

TRUNK_VERSION="0.22.1"
# binaryen's wasm-opt, from the npm package (Debian's is version 108, too old to pin here).
BINARYEN_VERSION="132"
# terser (npm), which minifies the hand-written loader (beacon.js, kept readable and commented in
# tracker-wasm/loader/) and the wasm-bindgen glue after Trunk has copied and built them.
TERSER_VERSION="5.51.4"
# The tracker's size, wasm + JS glue + loader, gzip -9, in bytes: the build fails over the hard
# limit, 24 KB; the goal, 20 KB, is reported (docs/benchmarks.md "Tracker size" says where the
# bytes go and what each step saved).
TRACKER_TARGET_BYTES=20480
TRACKER_BUDGET_BYTES="${TRACKER_BUDGET_BYTES:-24576}"
# The files the snippet downloads, as Trunk writes them to dist/.
TRACKER_FILES=(tracker-wasm_bg.wasm tracker-wasm.js beacon.js)

# The wasm-bindgen version Trunk is pinned to; it must be the crate's version in Cargo.lock.
wasm_bindgen_version() {
  local pinned locked
  pinned="$(sed -n 's/^wasm_bindgen *= *"\([^"]*\)".*/\1/p' "$REPO_ROOT/Trunk.toml")"
  locked="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' \
    "$REPO_ROOT/Cargo.lock")"
  [ -n "$pinned" ] || die "Trunk.toml has no [tools] wasm_bindgen version"
  [ "$pinned" = "$locked" ] ||
    die "Trunk.toml pins wasm-bindgen $pinned but Cargo.lock has $locked: make them equal"
  echo "$pinned"
}

# tool_version BIN: its `--version` line, empty if it is not installed.
tool_version() { [ -x "$TOOLS_DIR/bin/$1" ] && "$TOOLS_DIR/bin/$1" --version 2>/dev/null | head -n 1; }

ensure_trunk() {
  [ "$(tool_version trunk)" = "trunk $TRUNK_VERSION" ] && return 0
  log "installing Trunk $TRUNK_VERSION (first time only, takes a while)"
  cargo_install_locked trunk "$TRUNK_VERSION"
}

# cargo install CRATE@VERSION with its own Cargo.lock, from the repository so that
# rust-toolchain.toml's Rust builds it (Trunk 0.22.1 needs Rust 1.96.1). If a locked dependency version is missing
# from the registry (a registry mirror can lag or drop a release), the crate's source is copied to
# $BEACON_CACHE/src and only the missing dependencies are re-locked to what the registry has.
cargo_install_locked() {
  local crate="$1" version="$2" log_file src registry_src="" candidate missing _
  log_file="$(mktemp)"
  if (cd "$REPO_ROOT" && cargo install "$crate" --version "$version" --locked \
    --root "$TOOLS_DIR" --quiet 2>"$log_file"); then
    rm -f "$log_file"
    return 0
  fi
  for candidate in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"$crate-$version"; do
    [ -d "$candidate" ] && registry_src="$candidate" && break
  done
  if [ -z "$registry_src" ] || ! grep -q "failed to select a version" "$log_file"; then
    cat "$log_file" >&2
    rm -f "$log_file"
    die "cargo install $crate $version failed"
  fi
  src="$BEACON_CACHE/src/$crate-$version"
  rm -rf "$src"
  mkdir -p "$BEACON_CACHE/src"
  cp -r "$registry_src" "$src"
  for _ in 1 2 3 4 5; do
    missing="$(sed -n 's/.*failed to select a version for the requirement `\([^ ]*\) = .*/\1/p' \
      "$log_file" | head -n 1)"
    [ -n "$missing" ] || break
    log "$crate $version: $missing's locked version is not in the registry; re-locking only $missing"
    (cd "$REPO_ROOT" && cargo update --manifest-path "$src/Cargo.toml" -p "$missing" --quiet)
    if (cd "$REPO_ROOT" && cargo install --path "$src" --locked --root "$TOOLS_DIR" --quiet \
      2>"$log_file"); then
      rm -f "$log_file"
      return 0
    fi
  done
  cat "$log_file" >&2
  rm -f "$log_file"
  die "cargo install $crate $version failed"
}

ensure_wasm_bindgen() {
  local version
  version="$(wasm_bindgen_version)"
  [ "$(tool_version wasm-bindgen)" = "wasm-bindgen $version" ] && return 0
  log "installing wasm-bindgen-cli $version (must match the wasm-bindgen crate; first time only)"
  cargo_install_locked wasm-bindgen-cli "$version"
}

# npm_tool DIR PACKAGE@VERSION BIN NAME: installs an npm package into $TOOLS_DIR/DIR (node and npm
# from apt when missing) and links its executable BIN (relative to DIR) as $TOOLS_DIR/bin/NAME.
npm_tool() {
  local dir="$TOOLS_DIR/$1" spec="$2" bin="$3" name="$4"
  if ! command -v npm >/dev/null; then
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
      nodejs npm >/dev/null
  fi
  rm -rf "$dir"
  mkdir -p "$dir" "$TOOLS_DIR/bin"
  (cd "$dir" && npm install --no-audit --no-fund --silent --no-save "$spec" >/dev/null)
  ln -sf "../$1/$bin" "$TOOLS_DIR/bin/$name"
}

ensure_wasm_opt() {
  if tool_version wasm-opt | grep -q "(version_$BINARYEN_VERSION)"; then
    return 0
  fi
  log "installing wasm-opt (binaryen $BINARYEN_VERSION, npm)"
  npm_tool "binaryen-$BINARYEN_VERSION" "binaryen@$BINARYEN_VERSION.0.0" \
    node_modules/binaryen/bin/wasm-opt wasm-opt
  tool_version wasm-opt | grep -q "(version_$BINARYEN_VERSION)" ||
    die "wasm-opt from binaryen@$BINARYEN_VERSION does not run (node: $(node --version 2>&1))"
}

ensure_terser() {
  if [ "$(tool_version terser)" = "terser $TERSER_VERSION" ]; then
    return 0
  fi
  log "installing terser $TERSER_VERSION (npm)"
  npm_tool "terser-$TERSER_VERSION" "terser@$TERSER_VERSION" node_modules/terser/bin/terser terser
  [ "$(tool_version terser)" = "terser $TERSER_VERSION" ] ||
    die "terser $TERSER_VERSION does not run (node: $(node --version 2>&1))"
}

# Everything `build_site` needs. Safe to run again: each step skips what is present.
ensure_tracker_tools() {
  ensure_apt_packages brotli
  mkdir -p "$TOOLS_DIR/bin"
  (cd "$REPO_ROOT" && rustup target add wasm32-unknown-unknown >/dev/null 2>&1) || true
  # std's sources, which the release build rebuilds (`tracker_build_env`).
  (cd "$REPO_ROOT" && rustup component add rust-src >/dev/null 2>&1) || true
  ensure_wasm_opt
  ensure_terser
  ensure_wasm_bindgen
  ensure_trunk
}

# check_tracker_budget DIST: prints the gzip size of each tracker file and fails over budget.
check_tracker_budget() {
  local dist="$1" file size total=0
  for file in "${TRACKER_FILES[@]}"; do
    [ -f "$dist/$file" ] || die "$dist/$file is missing: did Trunk build the tracker?"
    size="$(gzip -9 -c "$dist/$file" | wc -c)"
    total=$((total + size))
    printf '    %-22s %7d bytes, %6d gzip\n' "$file" "$(wc -c <"$dist/$file")" "$size" >&2
  done
  printf '    %-22s %7s        %6d gzip (ceiling %d, target %d: %s)\n' "total" "" "$total" \
    "$TRACKER_BUDGET_BYTES" "$TRACKER_TARGET_BYTES" \
    "$([ "$total" -le "$TRACKER_TARGET_BYTES" ] && echo met || echo "NOT met")" >&2
  if [ "$total" -gt "$TRACKER_BUDGET_BYTES" ]; then
    die "the tracker is $total bytes gzip, over its budget of $TRACKER_BUDGET_BYTES (wasm + glue + loader); see tracker-wasm/README.md, \"Size\" (TRACKER_BUDGET_BYTES overrides the budget)"
  fi
}

# minify_tracker_js DIST: minifies the loader (a classic script) and the wasm-bindgen glue (an ES
# module) in place. Trunk copies beacon.js as written and its own minifier leaves the glue larger.
minify_tracker_js() {
  local dist="$1" exports='export ?[{] ?initSync, ?__wbg_init as default ?[}];?$'
  # The loader compiles the wasm itself and instantiates it with `initSync`: once the glue no
  # longer exports its async `default` init, terser drops it with its fetch and MIME fallbacks
  # and their messages (docs/benchmarks.md, "Tracker size"). Trunk's minifier already ran.
  [ "$(grep -cE "$exports" "$dist/tracker-wasm.js")" = 1 ] ||
    die "the glue's exports are not \"initSync, __wbg_init as default\": update minify_tracker_js and the loader"
  sed -i -E "s/$exports/export{initSync};/" "$dist/tracker-wasm.js"
  terser "$dist/beacon.js" --ecma 2020 --compress --mangle -o "$dist/beacon.js.min" ||
    die "terser failed on $dist/beacon.js"
  # `unsafe_methods`/`unsafe_arrows` write the import functions as methods and the callbacks
  # that do not use `this` as arrows: nothing constructs them, and `arguments` is left alone.
  terser "$dist/tracker-wasm.js" --module --ecma 2020 \
    --compress passes=2,unsafe_methods=true,unsafe_arrows=true --mangle \
    -o "$dist/tracker-wasm.js.min" || die "terser failed on $dist/tracker-wasm.js"
  mv "$dist/beacon.js.min" "$dist/beacon.js"
  mv "$dist/tracker-wasm.js.min" "$dist/tracker-wasm.js"
}

# The tracker's browser tests (tracker-wasm/tests/browser.rs) in headless Chromium, through
# wasm-bindgen-test-runner (installed with wasm-bindgen-cli, so the same version as the crate) and
# Debian's chromedriver; tracker-wasm/webdriver.json adds the flags a root user needs.
test_tracker_in_browser() {
  (cd "$REPO_ROOT/tracker-wasm" &&
    CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}" WASM_BINDGEN_TEST_TIMEOUT=120 \
      CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
      bounded 600 cargo test --locked --target wasm32-unknown-unknown --test browser)
}

# prune_table_entries DIST: points the function-table entries no call can reach (wasm-bindgen's
# closure invoke shims, js-sys's unused JSPI waker) at one `unreachable` function, so the
# optimiser can drop what they kept (scripts/lib/prune-table-entries.mjs says why each is dead;
# ~800 bytes gzip, docs/benchmarks.md "Tracker size"). It finds them by name: Trunk's wasm-opt
# keeps the name section (`--debuginfo` in demo-site/index.html), `minify_wasm_names` strips it.
prune_table_entries() {
  local dist="$1"
  node "$REPO_ROOT/scripts/lib/prune-table-entries.mjs" "$dist/tracker-wasm_bg.wasm" \
    "$dist/tracker-wasm_bg.wasm.pruned" \
    "$TOOLS_DIR/binaryen-$BINARYEN_VERSION/node_modules/binaryen/index.js" ||
    die "the tracker's unreachable function-table entries could not be pruned"
  mv "$dist/tracker-wasm_bg.wasm.pruned" "$dist/tracker-wasm_bg.wasm"
}

# minify_wasm_names DIST: shortens the wasm's import and export names (wasm-bindgen's carry a
# 16-digit hash each) and rewrites the glue to match (scripts/lib/minify-wasm-names.mjs, which
# fails the build if the glue no longer has the shape it expects). The features are the ones
# Rust's wasm32 target and wasm-bindgen emit; wasm-opt must be told, the section is stripped.
# Then one more `-Oz --converge` on the renamed module: ~120 bytes gzip less than without it,
# and than the same run before the renaming (docs/benchmarks.md, "Tracker size"); it keeps every
# import and export name the glue was rewritten for, and drops the name section.
minify_wasm_names() {
  local dist="$1" map features
  features=(--enable-reference-types --enable-bulk-memory --enable-nontrapping-float-to-int
    --enable-sign-ext --enable-mutable-globals --enable-multivalue)
  map="$(mktemp)"
  wasm-opt "$dist/tracker-wasm_bg.wasm" "${features[@]}" --minify-imports-and-exports-and-modules \
    -o "$dist/tracker-wasm_bg.wasm.min" >"$map" || die "wasm-opt could not minify the tracker's names"
  wasm-opt "$dist/tracker-wasm_bg.wasm.min" "${features[@]}" -Oz --converge --strip-debug \
    -o "$dist/tracker-wasm_bg.wasm.min" || die "wasm-opt could not optimise the tracker"
  node "$REPO_ROOT/scripts/lib/minify-wasm-names.mjs" "$dist/tracker-wasm.js" \
    "$dist/tracker-wasm_bg.wasm.min" "$map" || die "the glue could not follow the minified names"
  mv "$dist/tracker-wasm_bg.wasm.min" "$dist/tracker-wasm_bg.wasm"
  rm -f "$map"
}

# tracker_build_env CMD...: runs CMD (Trunk, which runs cargo) with the size-first std build:
# std rebuilt from the pinned toolchain's rust-src with `panic=immediate-abort`, so no panic
# message, location or formatting code reaches the wasm (-5 KB gzip, docs/benchmarks.md
# "Tracker size"). These flags are unstable: RUSTC_BOOTSTRAP=1 enables them on the pinned
# stable compiler (as Rust for Linux does), and a toolchain bump that renames one fails the
# build rather than growing the tracker unnoticed. Only this build: tests and services use
# plain stable, and the user's own RUSTFLAGS would replace the target's, so they are unset.
tracker_build_env() {
  env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS RUSTC_BOOTSTRAP=1 \
    CARGO_UNSTABLE_BUILD_STD=std,panic_abort \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none" \
    "$@"
}

# Builds demo-site/ with the tracker into dist/ (Trunk.toml: release, offline, locked), minifies
# the loader and the glue, then checks the size budget.
build_site() {
  local page="$REPO_ROOT/demo-site/index.html"
  grep -q 'data-trunk rel="rust" href="../tracker-wasm"' "$page" ||
    die "$page lacks the tracker's <link data-trunk rel=\"rust\" href=\"../tracker-wasm\" ...> (see tracker-wasm/README.md, \"Building\")"
  log "trunk build (demo-site/ and the wasm tracker, offline) into dist/"
  # Trunk runs cargo --offline; this build (the same one) fetches std's own dependencies first.
  (cd "$REPO_ROOT/tracker-wasm" && tracker_build_env cargo build --locked --lib \
    --target wasm32-unknown-unknown --profile wasm-release)
  (cd "$REPO_ROOT" && tracker_build_env TRUNK_OFFLINE=true trunk build --release)
  prune_table_entries "$REPO_ROOT/dist"
  minify_wasm_names "$REPO_ROOT/dist"
  minify_tracker_js "$REPO_ROOT/dist"
  log "tracker size"
  check_tracker_budget "$REPO_ROOT/dist"
  package_tracker "$REPO_ROOT/dist"
}

# package_tracker DIST: the tracker as ingestion serves it (TRACKER_DIR, default dist/tracker):
#   beacon.js                      the loader, pointing at the two files below
#   files/tracker-<hash>.js        the glue       } content-hashed names, so they can be cached
#   files/tracker-<hash>_bg.wasm   the wasm       } for a year: a new build gets new names
# each with its gzip (-9) and brotli (-q 11) copy for tower-http's precompressed serving.
package_tracker() {
  local dist="$1" out="$1/tracker" hash file
  hash="$(cat "$dist/tracker-wasm.js" "$dist/tracker-wasm_bg.wasm" | sha256sum | cut -c1-12)"
  rm -rf "$out"
  mkdir -p "$out/files"
  cp "$dist/tracker-wasm.js" "$out/files/tracker-$hash.js"
  cp "$dist/tracker-wasm_bg.wasm" "$out/files/tracker-${hash}_bg.wasm"
  sed -e "s#tracker-wasm_bg\.wasm#files/tracker-${hash}_bg.wasm#" \
    -e "s#tracker-wasm\.js#files/tracker-$hash.js#" "$dist/beacon.js" >"$out/beacon.js"
  grep -q "files/tracker-$hash.js" "$out/beacon.js" ||
    die "package_tracker: the loader no longer names tracker-wasm.js; update the rewrite"
  for file in "$out/beacon.js" "$out/files/"*; do
    gzip -9 -k -n "$file"
    brotli -q 11 -k "$file"
  done
  log "tracker packaged for ingestion in $out (files/tracker-$hash.*)"
}
