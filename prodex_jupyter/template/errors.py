"""One error type for every template problem: callers catch it without knowing which rule broke."""

from __future__ import annotations


class TemplateError(ValueError):
    """A template breaks a rule. The message always names where: file, node, gate and field."""

    def __init__(
        self,
        message: str,
        *,
        node: str | None = None,
        field: str | None = None,
        gate: str | None = None,
        source: str | None = None,
    ) -> None:
        self.message = message
        self.node, self.field, self.gate, self.source = node, field, gate, source
        where = [
            part
            for part in (
                source,
                node and f"node '{node}'",
                gate and f"gate '{gate}'",
                field and f"field '{field}'",
            )
            if part
        ]
        super().__init__(f"{', '.join(where)}: {message}" if where else message)

    def located(self, source: str) -> TemplateError:
        """The same error, also naming the file it came from."""
        return TemplateError(
            self.message, node=self.node, field=self.field, gate=self.gate, source=source
        )
