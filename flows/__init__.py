"""Prefect flows: the orchestration of the stages in `tasks/`, with no business rule of their own."""

from flows._heartbeat import install as _install_heartbeats

_install_heartbeats()
