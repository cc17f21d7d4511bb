"""Errors of the shared package: one base class so callers can catch them all."""

from __future__ import annotations


class LLMSharedError(Exception):
    """Base class for every error raised by llm_shared."""


class ConfigError(LLMSharedError, ValueError):
    """A setting, catalog entry or argument is invalid; the message names it."""


class UnknownModelError(LLMSharedError, KeyError):
    """A model id is not in the catalog; the message lists the known ids."""

    def __init__(self, model: str, known: list[str]) -> None:
        self.model = model
        self.known = known
        super().__init__(model)

    def __str__(self) -> str:
        return f"unknown model {self.model!r}; known models: {', '.join(self.known)}"
