#!/usr/bin/env bash
# Idempotent system setup for building, running and testing Caixa on Debian 12.
#
# - Debian packages (Tauri build deps, Xvfb, WebKitWebDriver, Chromium + ChromeDriver,
#   gnome-keyring/dbus for the Secret Service): apt runs only when something is missing.
# - tauri-driver (cargo install) when missing.
# - cargo-nextest: presence check only (test.sh falls back to `cargo test`).
# - `npm ci` in ui/ when node_modules is missing or package-lock.json changed since the last install.
#
# Fast when everything is present (no network, well under a second or two).
# Env: CAIXA_SKIP_SETUP=1 skips everything (for people who manage their own machine).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf 'setup: %s\n' "$*" >&2; }

if [[ "${CAIXA_SKIP_SETUP:-0}" == "1" ]]; then
  log "CAIXA_SKIP_SETUP=1: skipping"
  exit 0
fi

export PATH="$HOME/.cargo/bin:$PATH"

SUDO=()
if [[ "$(id -u)" != "0" ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    SUDO=(__no_sudo__)
  fi
fi

# --- Debian packages ---------------------------------------------------------------------------
APT_PACKAGES=(
  # Tauri v2 build dependencies
  libwebkit2gtk-4.1-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  build-essential file pkg-config
  # keyring crate (Secret Service over D-Bus)
  libdbus-1-dev
  # headless window, screenshots, WebDriver for the WebKitGTK webview
  xvfb xauth imagemagick webkit2gtk-driver
  # the website visitor in E2E tests
  chromium chromium-driver
  # a real Secret Service inside a private D-Bus session; kernel keyring tools
  gnome-keyring dbus dbus-x11 libsecret-tools keyutils
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
  if [[ "$status" != "installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  if [[ "${SUDO[*]}" == "__no_sudo__" ]]; then
    log "missing Debian packages and no sudo: ${missing[*]}"
    log "install them as root: apt-get install ${missing[*]}"
    exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  t0=$SECONDS
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
  log "Debian packages installed in $((SECONDS - t0)) s"
else
  log "Debian packages: all ${#APT_PACKAGES[@]} present"
fi

# --- Real mail servers for the e-mail tests (Dovecot, Postfix, mbsync for the benchmark) -----
# Their own installer: Postfix needs a debconf preseed, and no system service may start.
bash scripts/mail-servers.sh install

# --- Rust tools --------------------------------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1; then
  log "cargo not found: install Rust (rustup) first"
  exit 1
fi

if ! command -v tauri-driver >/dev/null 2>&1; then
  log "installing tauri-driver (cargo install tauri-driver --locked, ~1 min)"
  t0=$SECONDS
  # Its own target dir: never disturb the project's target/ or its fingerprints.
  CARGO_TARGET_DIR="${TMPDIR:-/tmp}/caixa-tauri-driver-build" cargo install tauri-driver --locked --quiet
  rm -rf "${TMPDIR:-/tmp}/caixa-tauri-driver-build"
  log "tauri-driver installed in $((SECONDS - t0)) s"
else
  log "tauri-driver: $(command -v tauri-driver)"
fi

if cargo nextest --version >/dev/null 2>&1; then
  log "cargo-nextest: $(cargo nextest --version 2>/dev/null | head -n1)"
else
  log "cargo-nextest not found: tests will run with 'cargo test' (install: cargo install cargo-nextest --locked)"
fi

# --- UI dependencies ---------------------------------------------------------------------------
if [[ -f ui/package.json ]]; then
  if ! command -v npm >/dev/null 2>&1; then
    log "npm not found: install Node.js 20+ first"
    exit 1
  fi
  stamp=ui/node_modules/.caixa-lock.sha256
  if [[ -f ui/package-lock.json ]]; then
    want="$(sha256sum ui/package-lock.json | cut -d' ' -f1)"
  else
    want="no-lock:$(sha256sum ui/package.json | cut -d' ' -f1)"
  fi
  have="$(cat "$stamp" 2>/dev/null || true)"
  # A node_modules installed by hand (npm install) after the last lock change counts as current:
  # npm writes node_modules/.package-lock.json on every install.
  if [[ -z "$have" && -f ui/node_modules/.package-lock.json && -f ui/package-lock.json &&
        ui/node_modules/.package-lock.json -nt ui/package-lock.json ]]; then
    have="$want"
    printf '%s\n' "$want" >"$stamp"
  fi
  if [[ ! -d ui/node_modules || "$want" != "$have" ]]; then
    t0=$SECONDS
    if [[ -f ui/package-lock.json ]]; then
      log "npm ci in ui/ (node_modules missing or package-lock.json changed)"
      npm_log="$(mktemp)"
      if ! (cd ui && npm ci --no-audit --no-fund --loglevel=error) >"$npm_log" 2>&1; then
        # e.g. a lock that cannot be in sync because an optional dependency is missing from the
        # registry (vite 8.4's napi-windows-process-start-time): keep CI usable, but say so loudly.
        grep -v '^npm error *$' "$npm_log" | grep -m 3 -E 'EUSAGE|in sync|Missing|ERR|error' >&2 || true
        log "WARNING: 'npm ci' failed (above); falling back to 'npm install' (fix ui/package-lock.json)"
        (cd ui && npm install --no-audit --no-fund --loglevel=error)
      else
        cat "$npm_log"
      fi
      rm -f "$npm_log"
    else
      log "npm install in ui/ (no package-lock.json yet)"
      (cd ui && npm install --no-audit --no-fund --loglevel=error)
    fi
    want="$(sha256sum ui/package-lock.json | cut -d' ' -f1)"
    printf '%s\n' "$want" >"$stamp"
    log "ui dependencies installed in $((SECONDS - t0)) s"
  else
    log "ui/node_modules up to date"
  fi
else
  log "ui/package.json not found: skipping npm"
fi

log "done"
