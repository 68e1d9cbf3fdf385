"""The Grafana dashboard in the template (fleet/dashboards/edgeops-slo.json) and the documented metric names
agree with what the runtime exports: every `edgeops_*` series a panel queries, and every one listed in
docs/runtime.md, is a series of `runtime.metrics.Metrics`; every series the runtime exports is documented."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from runtime.metrics import Metrics

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
SERIES = re.compile(r"\bedgeops_[a-z0-9_]+")


def _exported() -> set[str]:
    metrics = Metrics()
    names: set[str] = set()
    for family in metrics.registry.collect():
        if family.type == "histogram":
            names |= {f"{family.name}_{suffix}" for suffix in ("bucket", "sum", "count")}
        elif family.type == "counter":
            names.add(f"{family.name}_total")
        else:
            names.add(family.name)
    return names


def test_dashboard_queries_only_exported_series() -> None:
    dashboard = json.loads((REPO / "fleet" / "dashboards" / "edgeops-slo.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["query"]["query"] for v in dashboard["templating"]["list"] if isinstance(v.get("query"), dict)]
    used = {name for expr in exprs for name in SERIES.findall(expr)}
    assert used
    assert used <= _exported(), used - _exported()


def test_docs_list_exactly_the_exported_series() -> None:
    text = (REPO / "docs" / "runtime.md").read_text()
    documented = set(SERIES.findall(text))
    exported = _exported()
    bases = {re.sub(r"_(bucket|sum|count)$", "", n) for n in exported}
    assert {n for n in documented if n in exported or n in bases} == documented, documented - exported - bases
    assert all(any(n.startswith(b) for n in documented) for b in bases), bases
