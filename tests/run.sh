#!/usr/bin/env bash
# The test command: static checks, then the unit, integration and e2e tiers.
#   tests/run.sh                  everything (what CI runs)
#   tests/run.sh unit             one tier (unit | integration | e2e | checks)
#   tests/run.sh unit -k loader   extra arguments go to pytest
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
# shellcheck source=tests/env/common.sh
source "$here/env/common.sh"
cd "$repo"

tiers=(checks unit integration e2e)
if (($#)) && [[ " ${tiers[*]} " == *" $1 "* ]]; then tiers=("$1"); shift; fi

status=0
run_checks() {
  echo "==> ruff";          ruff check reconciler runtime tests benchmarks models || return 1
  echo "==> ruff format";   ruff format --check --quiet reconciler runtime tests benchmarks models || return 1
  echo "==> mypy --strict"; mypy || return 1
  echo "==> import-linter"; lint-imports || return 1
  if compgen -G ".github/workflows/*.yml" >/dev/null; then
    echo "==> actionlint";  actionlint .github/workflows/*.yml || return 1
  fi
}
run_tier() {
  echo "==> pytest -m $1"
  python -m pytest -m "$1" "${@:2}"
  local rc=$?
  # A tier with no tests yet is not a failure (pytest exit 5).
  if [[ $rc -eq 5 ]]; then echo "(no $1 tests)"; return 0; fi
  return $rc
}
for tier in "${tiers[@]}"; do
  if [[ $tier == checks ]]; then run_checks || status=1
  else run_tier "$tier" "$@" || status=1
  fi
done
exit $status
