#!/usr/bin/env bash
# Installs everything the project needs on a fresh machine, idempotently, into a cache outside the clone:
#   Debian packages (tests/env/apt-packages.txt), the Python environment (uv.lock), npm packages
#   (tests/env/node/package-lock.json) and every tests/env/install-*.sh (Go-built binaries and the like).
# Prints what it does; fails with a message naming the step. Safe to run again: cached steps are skipped.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=tests/env/common.sh
source "$here/common.sh"

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
fail() { printf 'bootstrap: %s\n' "$*" >&2; exit 1; }

mkdir -p "$EDGEOPS_CACHE"

# --- Debian packages --------------------------------------------------------------------------
missing=()
while read -r pkg; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < "$here/apt-packages.txt"
if ((${#missing[@]})); then
  step "apt: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then fail "Debian packages missing (${missing[*]}); run as root or install them"; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || fail "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || fail "apt-get install ${missing[*]} failed"
fi

# --- Python environment -----------------------------------------------------------------------
if [[ ! -x "$EDGEOPS_CACHE/uv/bin/uv" ]]; then
  step "uv: installing $UV_VERSION into $EDGEOPS_CACHE/uv"
  python3 -m venv "$EDGEOPS_CACHE/uv" || fail "python3 -m venv failed"
  "$EDGEOPS_CACHE/uv/bin/pip" install -q "uv==$UV_VERSION" || fail "pip install uv failed"
fi
step "python: syncing $UV_PROJECT_ENVIRONMENT from uv.lock"
(cd "$repo" && "$EDGEOPS_CACHE/uv/bin/uv" sync --frozen --quiet --python python3 \
    --extra runtime --extra reconciler --extra dev) || fail "uv sync failed (is uv.lock current? run: uv lock)"

# --- npm packages (onnxruntime-web for the WASM target, GitHub's OpenAPI description) ----------
node_dir="$EDGEOPS_CACHE/node-$(cat "$here/node/package-lock.json" | sha256sum | cut -c1-16)"
if [[ ! -d "$node_dir/node_modules" ]]; then
  step "npm: installing into $node_dir"
  rm -rf "$node_dir.tmp" && mkdir -p "$node_dir.tmp"
  cp "$here/node/package.json" "$here/node/package-lock.json" "$node_dir.tmp/"
  (cd "$node_dir.tmp" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci failed"
  rm -rf "$node_dir" && mv "$node_dir.tmp" "$node_dir"
fi
ln -sfn "$node_dir" "$EDGEOPS_CACHE/node"

# --- component installers (Go builds and the like) --------------------------------------------
for script in "$here"/install-*.sh; do
  [[ -e "$script" ]] || continue
  step "$(basename "$script")"
  bash "$script" || fail "$(basename "$script") failed"
done
step "environment ready in $EDGEOPS_CACHE"
