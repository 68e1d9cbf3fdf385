"""Notifications: events with a stable identity (`events`) and what each kind of target receives (`payloads`)."""

from reconciler.core.notify.events import SEVERITIES, Event, Seen, ZoneEpisodes, canary_ended, pull_failed
from reconciler.core.notify.payloads import CLOUDEVENTS_CONTENT_TYPE, as_cloudevent, as_json, as_slack, slack_text

__all__ = [
    "CLOUDEVENTS_CONTENT_TYPE",
    "SEVERITIES",
    "Event",
    "Seen",
    "ZoneEpisodes",
    "as_cloudevent",
    "as_json",
    "as_slack",
    "canary_ended",
    "pull_failed",
    "slack_text",
]
