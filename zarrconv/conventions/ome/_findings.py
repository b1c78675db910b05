"""What OME-Zarr validation finds, with the specification's own severity.

The specification words its rules with RFC 2119 key words. A breach of a MUST makes a
document invalid: it is an *error*. A breach of a SHOULD (a recommendation) leaves the
document valid: it is a *warning*, and an error only when the caller asks for strict
validation, the way the specification's own "strict" schemas and suites treat them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["Findings", "ValidationReport"]


class ValidationReport(list[str]):
    """The errors found (the list itself; empty means valid) and the warnings beside them.

    A plain ``list[str]`` of sentences, each starting with the node path, so that
    ``if not validate(...)`` still means "valid". ``warnings`` lists what the document
    SHOULD do differently; in strict mode those are errors and ``warnings`` is empty.
    It prints as the list of errors, as ``validate`` always returned.
    """

    def __init__(self, errors: Iterable[str] = (), warnings: Iterable[str] = ()) -> None:
        super().__init__(errors)
        self.warnings: list[str] = list(warnings)


class Findings:
    """Collects errors (MUST breaches) and warnings (SHOULD breaches) in the order found."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def must(self, message: str) -> None:
        """Record the breach of a MUST: the document is invalid."""
        self.errors.append(message)

    def should(self, message: str) -> None:
        """Record the breach of a SHOULD: a warning, an error in strict mode."""
        self.warnings.append(message)

    def schema(self, validator: Any, attrs: Mapping[str, Any], where: str, schema: str) -> bool:
        """Record as errors what the JSON Schema ``validator`` finds in ``attrs``, each naming its
        location and the ``schema``; True when it found nothing."""
        errors = sorted(validator.iter_errors(dict(attrs)), key=lambda e: list(map(str, e.absolute_path)))
        for err in errors:
            loc = err.json_path if err.absolute_path else "$"
            self.must(f"{where}: {loc}: {err.message} ({schema})")
        return not errors

    def add(self, report: ValidationReport) -> None:
        """Take over the errors and warnings of a report made in non-strict mode."""
        self.errors += report
        self.warnings += report.warnings

    def report(self, strict: bool) -> ValidationReport:
        """The report: each sentence once; in strict mode the warnings join the errors."""
        errors = list(dict.fromkeys(self.errors))
        warnings = [w for w in dict.fromkeys(self.warnings) if w not in errors]
        if strict:
            return ValidationReport(errors + warnings, [])
        return ValidationReport(errors, warnings)
