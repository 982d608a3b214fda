"""Domain errors that carry the sentence the user should read; the app's one error handler shows them."""

from __future__ import annotations

from collections.abc import Mapping


class PaybotError(Exception):
    """An error whose message is written for the person who caused it."""

    @property
    def message(self) -> str:
        return str(self)


class ConfigError(PaybotError):
    """A missing or malformed setting: one line that names it."""


class StartError(PaybotError):
    """A start-up failure a person can fix (a busy port, a database that does not answer, an
    address that is not Slack): the CLI prints it as one line and exits with status 2."""


class NotFound(PaybotError):
    pass


class Denied(PaybotError):
    pass


class InvalidInput(PaybotError):
    pass


class RefundRefused(PaybotError):
    pass


class ProcessorError(PaybotError):
    """The processor refused or failed; ``retryable`` says whether the same call may be tried again."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class FormErrors(PaybotError):
    """Field errors for a modal, keyed by block_id, shown with ``response_action: errors``."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = dict(errors)
