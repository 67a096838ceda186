"""Errors written for the user: what is wrong and what to do about it."""

from __future__ import annotations


class MaseError(Exception):
    """Base class. ``str(err)`` is one line that a front end can show as is."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.one_line())

    def one_line(self) -> str:
        text = " ".join(self.message.split())
        if self.hint:
            text = f"{text} ({' '.join(self.hint.split())})"
        return text


class ConfigError(MaseError):
    """A TOML file or pass_args dict that cannot be used."""


class TraceError(MaseError):
    """A model that torch.fx cannot trace."""


class PassError(MaseError):
    """A pass that cannot run with the given graph or arguments."""


class CheckpointError(MaseError):
    """A checkpoint that is missing, corrupt, untrusted or does not fit the model."""


class DataError(MaseError):
    """A data set that cannot be found or read."""


class ModelError(MaseError):
    """An unknown model name or a user model that cannot be loaded."""


class QuantError(ConfigError):
    """An invalid quantisation config."""
