"""Alerts: the French messages, the outbox rows written with the change that causes them, and the
sender that delivers each pending alert once (e-mail, chat, or .eml files)."""

from tasks.alerts.access import halt_group, queue_access_refused
from tasks.alerts.sender import send_pending_alerts

__all__ = ["halt_group", "queue_access_refused", "send_pending_alerts"]
