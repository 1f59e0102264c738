#!/usr/bin/env bash
# Run every check and test of the repository, stopping at the first failure.
#
#   setup → fmt → ui (check, lint, build) → clippy → unit/integration tests (under test-env.sh)
#   → build app + CLI for E2E → E2E walkthrough in the real window (under test-env.sh)
#
# The UI is built before clippy because the Tauri crate embeds ui/dist at compile time (and
# ui/dist is not in git). Everything of the root package is built with
# `--features tauri/custom-protocol` (production mode, embeds ui/dist) so the unit tests, the
# E2E binary and the E2E test share ONE build of tauri instead of two.
#
# Env:
#   CAIXA_SKIP_STEPS="clippy e2e"   skip steps by name (setup fmt ui clippy tests build e2e)
#   CAIXA_ARTIFACTS_DIR             default: <repo>/test-artifacts (screenshots, logs)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

ARTIFACTS="${CAIXA_ARTIFACTS_DIR:-$ROOT/test-artifacts}"
rm -rf "$ARTIFACTS"
mkdir -p "$ARTIFACTS"
export CAIXA_ARTIFACTS_DIR="$ARTIFACTS"

APP_FEATURES=(--features tauri/custom-protocol)
# A one-shot build on a clean clone gains nothing from incremental state, which took ~9 GB.
if [[ "${CI:-}" == "true" ]]; then
  export CARGO_INCREMENTAL=0
fi
# test-env.sh provides a real Secret Service: keychain tests must not skip themselves.
export CAIXA_REQUIRE_KEYCHAIN=1
SKIP=" ${CAIXA_SKIP_STEPS:-} "
SKIP="${SKIP//,/ }"
T_START=$SECONDS
CURRENT=""

step() {
  CURRENT="$1"
  STEP_T0=$SECONDS
  printf '\n\033[1m==> [%s] %s\033[0m\n' "$1" "$2"
}
step_done() { printf '\033[1m<== [%s] ok (%d s)\033[0m\n' "$CURRENT" "$((SECONDS - STEP_T0))"; }
skipped() {
  if [[ "$SKIP" == *" $1 "* ]]; then
    printf '\n==> [%s] skipped (CAIXA_SKIP_STEPS)\n' "$1"
    return 0
  fi
  return 1
}
on_exit() {
  rc=$?
  if ((rc != 0)); then
    printf '\n\033[1;31mFAILED at step [%s] (exit %d) after %d s; artifacts in %s\033[0m\n' \
      "${CURRENT:-?}" "$rc" "$((SECONDS - T_START))" "$ARTIFACTS" >&2
  fi
}
trap on_exit EXIT

if ! skipped setup; then
  step setup "system packages, tauri-driver, ui/node_modules (scripts/setup.sh)"
  bash scripts/setup.sh
  step_done
fi

if ! skipped fmt; then
  step fmt "cargo fmt --all -- --check"
  cargo fmt --all -- --check
  step_done
fi

if ! skipped ui; then
  step ui "npm --prefix ui run check && lint && build"
  npm --prefix ui run check
  npm --prefix ui run lint
  npm --prefix ui run build
  step_done
fi

if ! skipped clippy; then
  step clippy "cargo clippy --workspace --all-targets -- -D warnings"
  cargo clippy --workspace --all-targets -- -D warnings
  step_done
fi

if ! skipped tests; then
  if cargo nextest --version >/dev/null 2>&1; then
    step tests "cargo nextest run --workspace (under scripts/test-env.sh: Xvfb + D-Bus + keyring)"
    bash scripts/test-env.sh cargo nextest run --workspace "${APP_FEATURES[@]}" --no-tests=warn
  else
    step tests "cargo test --workspace (nextest not installed; under scripts/test-env.sh)"
    bash scripts/test-env.sh cargo test --workspace "${APP_FEATURES[@]}"
  fi
  step_done
fi

if ! skipped build; then
  # `cargo test` builds the app binary itself (CARGO_BIN_EXE_caixa) with the same features as
  # the test run; a separate `cargo build` would unify dependency features differently and
  # compile much of the tree twice.
  step build "build the E2E tests and the app binary they launch (custom-protocol)"
  cargo test "${APP_FEATURES[@]}" --test e2e_walkthrough --test e2e_email --test e2e_telegram --no-run
  step_done
fi

if ! skipped e2e; then
  step e2e "E2E in the real window: website walkthrough (Chromium visitor), e-mail (real mail servers), Telegram (fake Bot API)"
  bash scripts/test-env.sh cargo test "${APP_FEATURES[@]}" --test e2e_walkthrough --test e2e_email --test e2e_telegram -- \
    --ignored --nocapture --test-threads=1 2>&1 | tee "$ARTIFACTS/e2e.log"
  step_done
fi

CURRENT=""
printf '\n\033[1;32mAll steps passed in %d s.\033[0m Artifacts: %s\n' "$((SECONDS - T_START))" "$ARTIFACTS"
