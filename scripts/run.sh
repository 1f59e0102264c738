#!/usr/bin/env bash
# Build and run the Caixa desktop app (production mode: the UI is embedded in the binary).
#
#   scripts/run.sh [ARGS...]        ARGS are passed to the app
#
# Env: CAIXA_DATA_DIR (where the database, attachments and settings live; default: the OS data dir,
#      $XDG_DATA_HOME/caixa, i.e. ~/.local/share/caixa on Linux), CAIXA_GATEWAY_LISTEN (address of
#      the local gateway that serves the website widget and API; default 127.0.0.1:8787),
#      CAIXA_SKIP_SETUP=1 to skip the system setup.
#
# Needs a display. On a headless machine run it under Xvfb: scripts/test-env.sh scripts/run.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

bash scripts/setup.sh
echo "run: building the UI (npm --prefix ui run build)" >&2
npm --prefix ui run build

if [[ -n "${CAIXA_DATA_DIR:-}" ]]; then
  data_dir="$CAIXA_DATA_DIR (from CAIXA_DATA_DIR)"
else
  data_dir="${XDG_DATA_HOME:-$HOME/.local/share}/caixa (set CAIXA_DATA_DIR to choose another)"
fi
cat >&2 <<EOF
run: starting Caixa (release build, first build takes a few minutes)
run: data lives in: $data_dir
run: database: <data dir>/caixa.sqlite3; secrets (inbox signing secrets) in the system keyring
run: gateway (website widget, API inboxes): http://${CAIXA_GATEWAY_LISTEN:-127.0.0.1:8787}
EOF
if [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" ]]; then
  echo "run: WARNING: no DISPLAY/WAYLAND_DISPLAY; on a headless machine use: scripts/test-env.sh scripts/run.sh" >&2
fi
exec cargo run --release --features tauri/custom-protocol --bin caixa -- "$@"
