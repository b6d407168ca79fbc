"""Prefect flows: the orchestration of the stages in `tasks/`, with no business rule of their own."""
