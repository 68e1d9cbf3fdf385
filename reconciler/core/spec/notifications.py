"""`spec.notifications` of fleet.yaml: where rollbacks, promotions, zones Degraded or Unreachable for too long and
failed model pulls are announced. URLs come by reference (an environment variable or a file on the reconciler's
host), never from git."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, model_validator

from reconciler.core.spec.base import Duration, Items, Name, SecretRef, StrictModel

EventName = Literal["rollback", "promotion", "zone-degraded", "zone-unreachable", "model-pull-failed"]
SeverityName = Literal["info", "warning", "critical"]
EVENTS: tuple[EventName, ...] = ("rollback", "promotion", "zone-degraded", "zone-unreachable", "model-pull-failed")


class WebhookTarget(StrictModel):
    url: SecretRef = Field(description="where the URL is read at run time: env or file (a URL may hold a token)")
    format: Literal["json", "slack"] = Field(
        default="json", description="json: the event as a JSON object; slack: a Slack incoming-webhook payload"
    )

    @model_validator(mode="after")
    def _host_side(self) -> WebhookTarget:
        if self.url.secret is not None:
            raise ValueError("a webhook URL is read by the reconciler: use env or file, not a zone's secret")
        return self


class CloudEventsTarget(StrictModel):
    subject: str = Field(
        pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description="NATS subject on the region's hub; the events are CloudEvents 1.0 in structured JSON",
    )


class NotificationTarget(StrictModel):
    name: Name
    webhook: WebhookTarget | None = None
    cloudevents: CloudEventsTarget | None = None
    events: Items[EventName] = Field(default=EVENTS, description="which events (default: all)")
    min_severity: SeverityName = Field(default="info", description="events below this severity are not sent")

    @model_validator(mode="after")
    def _exactly_one(self) -> NotificationTarget:
        if (self.webhook is None) == (self.cloudevents is None):
            raise ValueError("a notification target is exactly one of: webhook, cloudevents")
        return self


class Notifications(StrictModel):
    zone_after: Duration = Field(
        default=timedelta(minutes=5), description="a zone Degraded or Unreachable this long is announced (once)"
    )
    targets: Items[NotificationTarget] = ()

    @model_validator(mode="after")
    def _unique_names(self) -> Notifications:
        names = [t.name for t in self.targets]
        if len(names) != len(set(names)):
            raise ValueError("notification target names must be unique")
        return self
