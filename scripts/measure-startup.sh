#!/usr/bin/env bash
# Start-up time and memory of Caixa, side by side with a bare Tauri window, same machine, same run.
#
#   scripts/measure-startup.sh            # release builds, 100k conversations / 1M messages
#   CAIXA_SEED_CONVERSATIONS=2000 CAIXA_SEED_MESSAGES=20000 scripts/measure-startup.sh   # quick
#
# 1. builds (release, custom-protocol) the app, caixa-cli and tests/bare-window into target/;
# 2. seeds a data dir with `caixa-cli seed` (cached in target/measure/ between runs);
# 3. under scripts/test-env.sh (Xvfb + D-Bus + keyring), launches each app WARMUP+RUNS times:
#    launch -> first paint = time from spawning the process to its stderr line
#    `caixa: ui-ready <ms>` / `bare: ui-ready <ms>` (printed when the UI has painted its first
#    list); memory = sum of Pss over the process and all its descendants (WebKitWebProcess,
#    WebKitNetworkProcess…) SETTLE seconds after ready;
# 4. prints per-run lines and a table of medians with the caixa/bare ratio; JSON + logs into
#    test-artifacts/.
#
# Env: CAIXA_MEASURE_RUNS (5), CAIXA_MEASURE_WARMUP (1), CAIXA_MEASURE_SETTLE (3 s),
#      CAIXA_SEED_CONVERSATIONS (100000), CAIXA_SEED_MESSAGES (1000000),
#      CAIXA_MEASURE_ONLY=bare   (measure only the bare window, e.g. before the app exists),
#      CAIXA_SKIP_SETUP=1, CAIXA_ARTIFACTS_DIR (default test-artifacts/).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

RUNS="${CAIXA_MEASURE_RUNS:-5}"
WARMUP="${CAIXA_MEASURE_WARMUP:-1}"
SETTLE="${CAIXA_MEASURE_SETTLE:-3}"
CONVS="${CAIXA_SEED_CONVERSATIONS:-100000}"
MSGS="${CAIXA_SEED_MESSAGES:-1000000}"
ONLY="${CAIXA_MEASURE_ONLY:-}"
ARTIFACTS="${CAIXA_ARTIFACTS_DIR:-$ROOT/test-artifacts}"
mkdir -p "$ARTIFACTS"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# Everything below the builds runs inside the test environment (a display is needed).
if [[ "${1:-}" != "--measure" ]]; then
  bash scripts/setup.sh

  say "build the bare Tauri window (release, custom-protocol; shares $CARGO_TARGET_DIR)"
  # Same dependency versions as the app, so their compiled artifacts are shared.
  cp Cargo.lock tests/bare-window/Cargo.lock
  cargo build --release --features tauri/custom-protocol \
    --manifest-path tests/bare-window/Cargo.toml

  if [[ "$ONLY" != "bare" ]]; then
    say "build Caixa (release, custom-protocol) and caixa-cli"
    npm --prefix ui run build
    cargo build --release --features tauri/custom-protocol --bin caixa
    cargo build --release -p caixa-cli

    SEED_DIR="$CARGO_TARGET_DIR/measure/seed-$CONVS-$MSGS"
    if [[ ! -f "$SEED_DIR/.seeded" ]]; then
      say "seed $CONVS conversations / $MSGS messages into $SEED_DIR"
      rm -rf "$SEED_DIR"
      mkdir -p "$SEED_DIR"
      t0=$SECONDS
      "$CARGO_TARGET_DIR/release/caixa-cli" seed --conversations "$CONVS" --messages "$MSGS" \
        --data-dir "$SEED_DIR"
      touch "$SEED_DIR/.seeded"
      echo "seeded in $((SECONDS - t0)) s ($(du -sh "$SEED_DIR" | cut -f1))"
    else
      echo "reusing seeded data dir $SEED_DIR ($(du -sh "$SEED_DIR" | cut -f1))"
    fi
    export CAIXA_MEASURE_SEED_DIR="$SEED_DIR"
  fi

  say "measure under scripts/test-env.sh: $WARMUP warm-up + $RUNS runs each"
  exec bash scripts/test-env.sh bash "$ROOT/scripts/measure-startup.sh" --measure
fi

# --- inside test-env.sh -------------------------------------------------------------------------
gateway_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
xdg="$(mktemp -d "${TMPDIR:-/tmp}/caixa-measure-xdg.XXXXXX")"
trap 'rm -rf "$xdg"' EXIT

apps=()
if [[ "$ONLY" != "bare" ]]; then
  caixa_env="$(python3 -c 'import json,sys; print(json.dumps({"CAIXA_DATA_DIR": sys.argv[1], "CAIXA_GATEWAY_LISTEN": sys.argv[2], "XDG_DATA_HOME": sys.argv[3] + "/caixa-data", "XDG_CACHE_HOME": sys.argv[3] + "/caixa-cache"}))' \
    "$CAIXA_MEASURE_SEED_DIR" "127.0.0.1:$gateway_port" "$xdg")"
  apps+=(--app caixa 'caixa: ui-ready (\d+)' "$caixa_env" -- "$CARGO_TARGET_DIR/release/caixa")
fi
bare_env="$(python3 -c 'import json,sys; print(json.dumps({"XDG_DATA_HOME": sys.argv[1] + "/bare-data", "XDG_CACHE_HOME": sys.argv[1] + "/bare-cache"}))' "$xdg")"
apps+=(--app bare 'bare: ui-ready (\d+)' "$bare_env" -- "$CARGO_TARGET_DIR/release/caixa-bare-window")

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); DISPLAY=$DISPLAY; WEBKIT_DISABLE_DMABUF_RENDERER=${WEBKIT_DISABLE_DMABUF_RENDERER:-}"
if [[ "$ONLY" != "bare" ]]; then
  echo "caixa data: $CAIXA_MEASURE_SEED_DIR ($CONVS conversations, $MSGS messages)"
fi
python3 "$ROOT/scripts/measure_startup.py" --runs "$RUNS" --warmup "$WARMUP" --settle "$SETTLE" \
  --out "$ARTIFACTS" "${apps[@]}"
