#!/usr/bin/env bash
# Builds the real cosign CLI into $EDGEOPS_BIN from Go modules (see docs/models.md, "Signed artifacts"). The tests
# sign with it and check that `cosign verify --key` accepts what `edgeops model push` signs; the product itself
# never runs it.
# The version comes from tests/env/cosign/versions.env only. Idempotent: a stamp keyed by that file and this script
# skips the build when nothing changed; Go's module and build caches are the ones install-kube.sh uses, under
# $EDGEOPS_CACHE/go. `install-cosign.sh --force` rebuilds anyway.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/env/common.sh
source "$here/common.sh"
# shellcheck source=tests/env/cosign/versions.env
source "$here/cosign/versions.env"

fail() { printf 'install-cosign: %s\n' "$*" >&2; exit 1; }
say() { printf 'install-cosign: %s\n' "$*"; }
started=$SECONDS
elapsed() { printf '%dm%02ds' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)); }

force=0
[[ "${1:-}" == "--force" ]] && force=1

command -v go >/dev/null || fail "go is not on PATH; install Go >= 1.25 (go >= 1.21 fetches a newer toolchain itself)"
local_go="$(go env GOVERSION)"
[[ "$(printf '%s\n' go1.21 "$local_go" | sort -V | head -1)" == go1.21 ]] ||
  fail "$local_go is too old to fetch the Go that cosign $COSIGN_VERSION's go.mod asks for; install Go >= 1.25"
[[ "$COSIGN_VERSION" =~ ^v2\.[0-9]+\.[0-9]+$ ]] ||
  fail "COSIGN_VERSION=$COSIGN_VERSION in tests/env/cosign/versions.env is not v2.MINOR.PATCH"

key="$(cat "$here/cosign/versions.env" "$0" | sha256sum | cut -c1-16)"
stamp="$EDGEOPS_BIN/.cosign.stamp"
if ((force == 0)) && [[ -x "$EDGEOPS_BIN/cosign" && -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
  say "cosign $COSIGN_VERSION cached in $EDGEOPS_BIN"
  exit 0
fi

export GOMODCACHE="$EDGEOPS_CACHE/go/mod"
export GOCACHE="$EDGEOPS_CACHE/go/build"
export GOTOOLCHAIN=auto GOFLAGS=-mod=mod CGO_ENABLED=0
mkdir -p "$EDGEOPS_BIN"
say "[$(elapsed)] building cosign $COSIGN_VERSION ($(go version | cut -d' ' -f3), cache $EDGEOPS_CACHE/go); cold: ~1.7 GB of modules, ~1.2 GB of build cache, ~7.5 CPU-minutes"
# Without the ldflags `cosign version` reports "devel"; the check below relies on the version it reports.
GOBIN="$EDGEOPS_BIN/.cosign-build" nice -n 10 go install -trimpath \
  -ldflags "-s -w -X sigs.k8s.io/release-utils/version.gitVersion=$COSIGN_VERSION" \
  "github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION" ||
  fail "go install github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION failed (module proxy reachable? GOPROXY=$(go env GOPROXY))"
mv "$EDGEOPS_BIN/.cosign-build/cosign" "$EDGEOPS_BIN/cosign"
rmdir "$EDGEOPS_BIN/.cosign-build"
reported="$("$EDGEOPS_BIN/cosign" version --json 2>/dev/null | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p')"
[[ "$reported" == "$COSIGN_VERSION" ]] ||
  fail "built cosign reports version '$reported', expected $COSIGN_VERSION"

echo "$key" >"$stamp"
say "[$(elapsed)] done: cosign $COSIGN_VERSION in $EDGEOPS_BIN"
