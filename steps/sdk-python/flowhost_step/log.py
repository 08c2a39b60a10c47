"""Log lines kept with the step's execution record."""

from wit_world.imports.log import Level, log as _log

__all__ = ["Level", "at", "trace", "debug", "info", "warn", "error"]


def at(level: Level, message: str) -> None:
    """Logs `message` at `level`."""
    _log(level, str(message))


def trace(message: str) -> None:
    """Logs at trace level."""
    _log(Level.TRACE, str(message))


def debug(message: str) -> None:
    """Logs at debug level."""
    _log(Level.DEBUG, str(message))


def info(message: str) -> None:
    """Logs at info level."""
    _log(Level.INFO, str(message))


def warn(message: str) -> None:
    """Logs at warn level."""
    _log(Level.WARN, str(message))


def error(message: str) -> None:
    """Logs at error level."""
    _log(Level.ERROR, str(message))
