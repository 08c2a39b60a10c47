"""Log lines kept with the step's execution record."""

from wit_world.imports.log import Level, log as _log

__all__ = ["Level", "at", "trace", "debug", "info", "warn", "error"]


def _line(level, message, what: str) -> None:
    """Logs `message` at `level`, each checked first: a level outside `Level` or text the
    bindings cannot lower aborted the whole step past any `except` (round 18 steps review)."""
    from . import _argument

    _log(
        _argument(Level, level, f"{what}: level"),
        _argument(str, str(message), f"{what}: message"),
    )


def at(level: Level, message: str) -> None:
    """Logs `message` at `level` (a `Level`, or its name: `"warn"`)."""
    _line(level, message, "log.at")


def trace(message: str) -> None:
    """Logs at trace level."""
    _line(Level.TRACE, message, "log.trace")


def debug(message: str) -> None:
    """Logs at debug level."""
    _line(Level.DEBUG, message, "log.debug")


def info(message: str) -> None:
    """Logs at info level."""
    _line(Level.INFO, message, "log.info")


def warn(message: str) -> None:
    """Logs at warn level."""
    _line(Level.WARN, message, "log.warn")


def error(message: str) -> None:
    """Logs at error level."""
    _line(Level.ERROR, message, "log.error")
