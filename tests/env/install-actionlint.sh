#!/usr/bin/env bash
# actionlint (lints .github/workflows). The PyPI wrapper downloads a release binary at build time, which this
# environment cannot reach; the Go module proxy serves the same source.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
version="v1.7.12"
if [[ -x "$EDGEOPS_BIN/actionlint" ]] && "$EDGEOPS_BIN/actionlint" -version 2>/dev/null | grep -q "${version#v}"; then
  echo "actionlint $version cached"; exit 0
fi
mkdir -p "$EDGEOPS_BIN"
GOBIN="$EDGEOPS_BIN" GOFLAGS=-mod=mod CGO_ENABLED=0 go install "github.com/rhysd/actionlint/cmd/actionlint@$version"
"$EDGEOPS_BIN/actionlint" -version | head -1
