"""The canary controller: measure every canary of a region in Prometheus and decide (`analyze`), and the pass that
acts on each verdict through pull requests (`controller`, acting through `reconciler.app.gitops`)."""

from reconciler.app.canary.analyze import Analysis, AnalyzeOptions, analyze_group, analyze_region, state_of
from reconciler.app.canary.controller import CanaryOutcome, ControllerMetrics, ControllerPass, controller_pass
from reconciler.app.canary.measure import measure_group, measure_zone

__all__ = [
    "Analysis",
    "AnalyzeOptions",
    "CanaryOutcome",
    "ControllerMetrics",
    "ControllerPass",
    "analyze_group",
    "analyze_region",
    "controller_pass",
    "measure_group",
    "measure_zone",
    "state_of",
]
