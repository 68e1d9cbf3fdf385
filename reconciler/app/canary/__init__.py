"""The canary controller's analysis: measure every canary of a region in Prometheus and decide. Acting on a
verdict (pull requests, merges) goes through `reconciler.app.gitops`."""

from reconciler.app.canary.analyze import Analysis, AnalyzeOptions, analyze_region, state_of
from reconciler.app.canary.measure import measure_group, measure_zone

__all__ = ["Analysis", "AnalyzeOptions", "analyze_region", "measure_group", "measure_zone", "state_of"]
