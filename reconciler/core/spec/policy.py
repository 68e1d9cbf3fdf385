"""`fleet/policies/<name>.yaml`: how a canary is analysed, advanced, promoted and rolled back (kind CanaryPolicy)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from reconciler.core.spec.base import (
    Duration,
    Fraction,
    Items,
    Metadata,
    Name,
    Percent,
    PositiveMs,
    StrictModel,
)

Weight = Annotated[int, Field(ge=0, le=100)]


class ShadowPhase(StrictModel):
    """Before any live traffic: mirrored requests plus synthetic ones; results never reach production."""

    duration: Duration
    mirror_percent: Percent = Field(description="share of live traffic mirrored to the canary")
    synthetic_ratio: Fraction = Field(
        default=0.0, description="share of the shadow load that is synthetic (replayed or generated)"
    )


class AnalysisMetrics(StrictModel):
    p95_latency_ms: PositiveMs | None = Field(default=None, description="absolute ceiling; default: the SLO")
    error_rate_percent: Percent | None = Field(default=None, description="absolute ceiling; default: the SLO")
    max_ratio_to_stable: float = Field(default=1.5, gt=1.0, description="canary p95 / stable p95 ceiling")
    min_samples: int = Field(default=100, ge=1, description="requests per analysis before a verdict counts")


class Wave(StrictModel):
    """Zones that move together. '*' stands for every zone not named in an earlier wave."""

    name: Name
    zones: Items[str] = Field(min_length=1)


class CanaryPolicySpec(StrictModel):
    shadow: ShadowPhase | None = None
    steps: Items[Weight] = Field(min_length=1, description="live traffic weights, strictly increasing")
    analysis_interval: Duration
    metrics: AnalysisMetrics = Field(default_factory=AnalysisMetrics)
    failure_limit: int = Field(default=1, ge=1, description="failed analyses in a row before rollback")
    inconclusive_limit: int = Field(
        default=3,
        ge=0,
        le=100,
        description="times a step's analysis is extended by another analysisInterval while it has too few "
        "samples, before it holds as inconclusive (never promotes)",
    )
    promotion: Literal["auto-merge", "review"] = "review"
    rollback: Literal["auto-merge", "review"] = "auto-merge"
    waves: Items[Wave] = ()

    @model_validator(mode="after")
    def _steps_increase(self) -> CanaryPolicySpec:
        if any(b <= a for a, b in zip(self.steps, self.steps[1:], strict=False)):
            raise ValueError(f"steps must be strictly increasing, got {list(self.steps)}")
        if self.steps[0] == 0:
            raise ValueError("the first step must send some traffic (weight > 0); use the shadow phase for 0")
        return self


class CanaryPolicy(StrictModel):
    api_version: Literal["edgeops.io/v1alpha1"]
    kind: Literal["CanaryPolicy"]
    metadata: Metadata
    spec: CanaryPolicySpec
