#!/usr/bin/env bash
# Builds the site (wasm + JS glue + CSS + assets into target/site) and the `trellis` binary.
# Does what `cargo leptos build` does, without needing cargo-leptos installed:
#   scripts/build.sh             debug server, size-optimised wasm
#   scripts/build.sh --release   release server too
#   scripts/build.sh --site-only the site alone (the tests' build already made the binary)
set -euo pipefail
cd "$(dirname "$0")/.."
profile=dev
[ "${1:-}" = "--release" ] && profile=release
site_only=false
[ "${1:-}" = "--site-only" ] && site_only=true
site=target/site
target=${CARGO_TARGET_DIR:-target}
# Leptos' hydration script expects pkg/trellis.js and pkg/trellis_bg.wasm unless
# LEPTOS_OUTPUT_NAME is set at compile time; keep it unset so both builds agree.
unset LEPTOS_OUTPUT_NAME

wasm_profile=${TRELLIS_WASM_PROFILE:-wasm-release}
cargo build -p frontend --lib --target wasm32-unknown-unknown --profile "$wasm_profile"
wasm_dir=$wasm_profile
[ "$wasm_profile" = dev ] && wasm_dir=debug
mkdir -p "$site/pkg"
wasm-bindgen "$target/wasm32-unknown-unknown/$wasm_dir/frontend.wasm" \
  --target web --no-typescript --remove-name-section --remove-producers-section \
  --out-dir "$site/pkg" --out-name trellis
if command -v wasm-opt >/dev/null && [ "$wasm_profile" = wasm-release ]; then
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types \
    -o "$site/pkg/trellis_bg.wasm" "$site/pkg/trellis_bg.wasm"
fi
cp style/main.css "$site/pkg/trellis.css"
cp -r public/. "$site/"
$site_only || cargo build -p server --bin trellis --profile "$profile"
