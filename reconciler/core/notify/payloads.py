"""What each kind of target receives for an event: a plain JSON object, a Slack incoming-webhook payload, or a
CloudEvent 1.0 in structured JSON mode. Values are data: JSON encoding escapes them; the Slack text escapes the
three characters Slack's mrkdwn treats as control (`&`, `<`, `>`), so no event text can mention or link."""

from __future__ import annotations

from typing import Any

from reconciler.core.notify.events import Event

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"
_EMOJI = {"info": ":information_source:", "warning": ":warning:", "critical": ":rotating_light:"}
_COLOR = {"info": "#2b7bb9", "warning": "#e0a800", "critical": "#d73a49"}


def as_json(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "kind": event.kind,
        "severity": event.severity,
        "region": event.region,
        "subject": event.subject,
        "title": event.title,
        "time": event.at.isoformat(),
        "data": dict(event.data),
    }


def slack_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def as_slack(event: Event) -> dict[str, Any]:
    title = slack_text(event.title)
    return {
        "text": f"{_EMOJI[event.severity]} [{event.severity}] {title}",
        "attachments": [
            {
                "color": _COLOR[event.severity],
                "fields": [
                    {"title": slack_text(str(k)), "value": slack_text(str(v)), "short": True}
                    for k, v in sorted(event.data.items())
                ],
            }
        ],
    }


def as_cloudevent(event: Event) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event.id,
        "source": f"/edgeops/regions/{event.region}",
        "type": f"io.edgeops.{event.kind}",
        "subject": event.subject,
        "time": event.at.isoformat(),
        "datacontenttype": "application/json",
        "severity": event.severity,  # an extension attribute (lower-case alphanumerics, as the spec requires)
        "data": {"title": event.title, **event.data},
    }
