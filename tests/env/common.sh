# Shared settings for the environment scripts; sourced, never run.
# Everything heavy lives outside the clone so CI and later runs reuse it.
export EDGEOPS_CACHE="${EDGEOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeops}"
export UV_VERSION="0.13.8"
export UV_PROJECT_ENVIRONMENT="$EDGEOPS_CACHE/venv"
export UV_CACHE_DIR="$EDGEOPS_CACHE/uv-cache"
export EDGEOPS_NODE_MODULES="$EDGEOPS_CACHE/node/node_modules"
export EDGEOPS_BIN="$EDGEOPS_CACHE/bin"
export PATH="$UV_PROJECT_ENVIRONMENT/bin:$EDGEOPS_BIN:$PATH"
