#!/usr/bin/env bash
# Builds Jaeger (all-in-one: collector with the OTLP receivers, query service and UI, in-memory storage) into
# $EDGEOPS_BIN/jaeger for the sandbox (see docs/sandbox.md). The version comes from tests/env/jaeger/versions.env
# only. Idempotent: a stamp keyed by that file and this script skips the build when nothing changed; Go's module
# and build caches live under $EDGEOPS_CACHE/go (shared with install-kube.sh). `install-jaeger.sh --force`
# rebuilds anyway.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/env/common.sh
source "$here/common.sh"
# shellcheck source=tests/env/jaeger/versions.env
source "$here/jaeger/versions.env"

fail() { printf 'install-jaeger: %s\n' "$*" >&2; exit 1; }
say() { printf 'install-jaeger: %s\n' "$*"; }
started=$SECONDS
elapsed() { printf '%dm%02ds' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)); }

force=0
[[ "${1:-}" == "--force" ]] && force=1
command -v go >/dev/null || fail "go is not on PATH; install Go >= 1.21 (it fetches the toolchain Jaeger asks for)"

key="$(cat "$here/jaeger/versions.env" "$0" | sha256sum | cut -c1-16)"
stamp="$EDGEOPS_BIN/.jaeger.stamp"
if ((force == 0)) && [[ -x "$EDGEOPS_BIN/jaeger" && -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
  say "jaeger $JAEGER_VERSION cached in $EDGEOPS_BIN"
  exit 0
fi

export GOMODCACHE="$EDGEOPS_CACHE/go/mod"
export GOCACHE="$EDGEOPS_CACHE/go/build"
export GOTOOLCHAIN=auto GOFLAGS=-mod=mod CGO_ENABLED=0
mkdir -p "$EDGEOPS_BIN"
say "building jaeger $JAEGER_VERSION ($(go version | cut -d' ' -f3), cache $EDGEOPS_CACHE/go); a cold build takes minutes"
# Jaeger's go.mod has replace lines, so `go install ...@version` refuses it: build inside a copy of the module
# instead (its own go.mod and go.sum apply there).
build_dir="$EDGEOPS_CACHE/jaeger-build/$JAEGER_VERSION"
say "[$(elapsed)] downloading github.com/jaegertracing/jaeger@$JAEGER_VERSION"
source_dir="$(go mod download -json "github.com/jaegertracing/jaeger@$JAEGER_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
[[ -d "$source_dir" ]] || fail "could not download github.com/jaegertracing/jaeger@$JAEGER_VERSION (module proxy reachable? GOPROXY=$(go env GOPROXY))"
rm -rf "$build_dir" && mkdir -p "$(dirname "$build_dir")"
cp -r "$source_dir" "$build_dir" && chmod -R u+w "$build_dir"
say "[$(elapsed)] compiling jaeger (all-in-one); a cold build takes several minutes on 2 cores"
mkdir -p "$EDGEOPS_BIN/.jaeger-build"
(cd "$build_dir" && nice -n 10 go build -trimpath -ldflags "-s -w" -o "$EDGEOPS_BIN/.jaeger-build/jaeger" ./cmd/jaeger) ||
  fail "go build of jaeger failed in $build_dir (see above)"
mv "$EDGEOPS_BIN/.jaeger-build/jaeger" "$EDGEOPS_BIN/jaeger"
rmdir "$EDGEOPS_BIN/.jaeger-build"
rm -rf "$build_dir"  # the module and build caches keep what a rebuild needs
"$EDGEOPS_BIN/jaeger" --help >/dev/null 2>&1 || fail "built jaeger does not run"

echo "$key" >"$stamp"
say "[$(elapsed)] done: jaeger $JAEGER_VERSION in $EDGEOPS_BIN"
