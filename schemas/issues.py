"""The shape of a refusal: why one invoice (or a whole file) cannot go to Chorus Pro.

Every check (export columns, directory, PDF preflight, Chorus Pro's own refusal) produces these, so
the warehouse, the run summary and the entrepreneur's message all say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reason:
    """One broken rule. `message_fr` is for the entrepreneur, `message_en` for logs and operators."""

    rule: str
    message_fr: str
    message_en: str
    column: str | None = None
    value: str | None = None

    def __reduce__(self) -> tuple[type[Reason], tuple[str | None, ...]]:
        # Reasons cross process boundaries (PDF workers): the generic pickling of slotted
        # dataclasses looks the fields up on every object.
        return Reason, (self.rule, self.message_fr, self.message_en, self.column, self.value)

    def as_dict(self) -> dict[str, str | None]:
        return {
            "rule": self.rule,
            "column": self.column,
            "value": self.value,
            "message_fr": self.message_fr,
            "message_en": self.message_en,
        }
