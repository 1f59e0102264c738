#!/usr/bin/env bash
# Usage: scripts/test-env.sh CMD [ARGS...]
#
# Runs CMD inside a self-contained test environment and exits with its status:
#   - a private Xvfb display (a free display number chosen by Xvfb itself via -displayfd,
#     -nolisten tcp), killed on exit; DISPLAY points at it;
#   - a private D-Bus session bus (dbus-run-session) with a real Secret Service:
#     gnome-keyring-daemon --foreground --unlock --components=secrets, unlocked with a throwaway
#     password fed on stdin and keeping its keyrings in a temp dir (never your real keyring);
#   - WEBKIT_DISABLE_DMABUF_RENDERER=1 (WebKitGTK under Xvfb: less memory, no DMA-BUF errors).
#
# The rest of the environment is inherited (CAIXA_*, CARGO_*, PATH…).
# Env: CAIXA_XVFB_SCREEN (default 1280x1024x24), CAIXA_TEST_ENV_VERBOSE=1 for more output.
set -euo pipefail

if (($# == 0)); then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi

log() { printf 'test-env: %s\n' "$*" >&2; }
vlog() { if [[ "${CAIXA_TEST_ENV_VERBOSE:-0}" == "1" ]]; then log "$@"; fi; }

SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"

# ---------------------------------------------------------------------------------------------
# Stage 2: inside dbus-run-session. Start the Secret Service, then run the command.
# ---------------------------------------------------------------------------------------------
if [[ "${1:-}" == "--inside-dbus" ]]; then
  shift
  keyring_home="$CAIXA_TEST_ENV_TMP/keyring-data"
  mkdir -p "$keyring_home"
  # --foreground keeps it a child we can stop; --unlock reads the password from stdin and
  # creates/unlocks the "login" keyring (the default collection). XDG_DATA_HOME only for the
  # daemon: its keyrings live in the temp dir, the command's own XDG dirs are untouched.
  printf 'caixa-test-keyring' |
    XDG_DATA_HOME="$keyring_home" gnome-keyring-daemon --foreground --unlock --components=secrets \
      >"$CAIXA_TEST_ENV_TMP/gnome-keyring.out" 2>"$CAIXA_TEST_ENV_TMP/gnome-keyring.err" &
  gkd_pid=$!
  stop_gkd() { kill -TERM "$gkd_pid" 2>/dev/null || true; wait "$gkd_pid" 2>/dev/null || true; }
  trap stop_gkd EXIT

  # Wait until org.freedesktop.secrets is owned on the session bus (usually < 100 ms).
  ok=0
  for _ in $(seq 1 100); do
    if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
      grep -q 'boolean true'; then
      ok=1
      break
    fi
    if ! kill -0 "$gkd_pid" 2>/dev/null; then break; fi
    sleep 0.05
  done
  if ((ok == 0)); then
    log "gnome-keyring-daemon did not come up; its stderr:"
    cat "$CAIXA_TEST_ENV_TMP/gnome-keyring.err" >&2 || true
    exit 1
  fi
  vlog "Secret Service up on $DBUS_SESSION_BUS_ADDRESS"
  unset CAIXA_TEST_ENV_TMP
  export CAIXA_IN_TEST_ENV=1
  set +e
  "$@"
  rc=$?
  set -e
  exit "$rc"
fi

# Already inside (e.g. a script run under test-env.sh calls it again): just run the command.
if [[ "${CAIXA_IN_TEST_ENV:-0}" == "1" ]]; then
  exec "$@"
fi

for tool in Xvfb dbus-run-session dbus-send gnome-keyring-daemon; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    log "$tool not found: run scripts/setup.sh first"
    exit 1
  fi
done

# ---------------------------------------------------------------------------------------------
# Stage 1: Xvfb on a free display, then re-enter this script under dbus-run-session.
# ---------------------------------------------------------------------------------------------
CAIXA_TEST_ENV_TMP="$(mktemp -d "${TMPDIR:-/tmp}/caixa-test-env.XXXXXX")"
export CAIXA_TEST_ENV_TMP
xvfb_pid=""
cleanup() {
  if [[ -n "$xvfb_pid" ]]; then
    kill -TERM "$xvfb_pid" 2>/dev/null || true
    wait "$xvfb_pid" 2>/dev/null || true
  fi
  rm -rf "$CAIXA_TEST_ENV_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# -displayfd: Xvfb picks the first free display number itself and writes it to that fd once it
# accepts connections; no race with other Xvfbs, no stale-lock guessing.
Xvfb -displayfd 3 -screen 0 "${CAIXA_XVFB_SCREEN:-1280x1024x24}" -nolisten tcp -noreset \
  3>"$CAIXA_TEST_ENV_TMP/display" >"$CAIXA_TEST_ENV_TMP/xvfb.log" 2>&1 &
xvfb_pid=$!
display=""
for _ in $(seq 1 200); do
  display="$(tr -dc '0-9' <"$CAIXA_TEST_ENV_TMP/display" 2>/dev/null || true)"
  if [[ -n "$display" ]] && grep -q $'\n' "$CAIXA_TEST_ENV_TMP/display" 2>/dev/null; then break; fi
  if ! kill -0 "$xvfb_pid" 2>/dev/null; then
    log "Xvfb exited early:"
    cat "$CAIXA_TEST_ENV_TMP/xvfb.log" >&2 || true
    exit 1
  fi
  display=""
  sleep 0.05
done
if [[ -z "$display" ]]; then
  log "Xvfb did not report a display within 10 s"
  cat "$CAIXA_TEST_ENV_TMP/xvfb.log" >&2 || true
  exit 1
fi
export DISPLAY=":$display"
unset WAYLAND_DISPLAY
export GDK_BACKEND=x11
export WEBKIT_DISABLE_DMABUF_RENDERER=1
export NO_AT_BRIDGE=1 # no accessibility bus inside the private session: silence its warnings
log "DISPLAY=$DISPLAY (Xvfb pid $xvfb_pid), private D-Bus session with gnome-keyring Secret Service"

set +e
dbus-run-session -- bash "$SELF" --inside-dbus "$@"
rc=$?
set -e
exit "$rc"
