"""Notifications: delivery to webhooks and CloudEvents on the region hub (`notifier`), and the events of the
region loop's passes and the canary controller's outcomes (`watch`)."""

from reconciler.app.notify.notifier import Notifier, NotifyMetrics, TargetUnusable, resolve_url
from reconciler.app.notify.watch import ZoneWatch, canary_events

__all__ = ["Notifier", "NotifyMetrics", "TargetUnusable", "ZoneWatch", "canary_events", "resolve_url"]
