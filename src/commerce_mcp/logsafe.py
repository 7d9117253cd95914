"""Tracebacks for the log without the exceptions' own text.

An exception's message can hold anything its raiser had at hand: a buyer's name and address from a
tool's arguments, a pydantic error's ``input_value``, a URL with a token in its query. The log keeps
what finds a bug (each exception's type, and the frames with their file, line and source) and drops
the messages. What a user needs to read about a failure is in the tool's answer, not in the log.
"""

from __future__ import annotations

import logging
import textwrap
import traceback
from types import TracebackType

WITHHELD = "(message not logged)"


def traceback_without_messages(error: BaseException) -> str:
    """``error`` and the exceptions chained to it, as Python prints them, minus their messages."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        block = "".join(traceback.format_list(traceback.extract_tb(current.__traceback__)))
        kind = type(current)
        name = (
            kind.__qualname__
            if kind.__module__ == "builtins"
            else f"{kind.__module__}.{kind.__qualname__}"
        )
        parts.append(
            f"Traceback (most recent call last):\n{block}{name} {WITHHELD}\n{_members(current)}"
        )
        if current.__cause__ is not None:
            link = "\nThe above exception was the direct cause of the following exception:\n\n"
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            link = "\nDuring handling of the above exception, another exception occurred:\n\n"
            current = current.__context__
        else:
            break
        parts.append(link)
    return "".join(reversed(parts)).rstrip("\n")


def _members(error: BaseException) -> str:
    """An exception group's own exceptions, indented under it as Python prints them: a crash in a
    task group (the SDK's, asyncio's) is found only there."""
    if not isinstance(error, BaseExceptionGroup):
        return ""
    count = len(error.exceptions)
    blocks = [
        f"+---------------- {number} of {count} ----------------\n"
        + textwrap.indent(traceback_without_messages(member), "| ")
        + "\n"
        for number, member in enumerate(error.exceptions, start=1)
    ]
    return textwrap.indent("".join(blocks), "  ", lambda line: True)


class MessageFreeTracebacks(logging.Formatter):
    """A formatter whose tracebacks (``log.exception``, ``exc_info=True``) carry no messages."""

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info:
            record.exc_text = None  # another handler may have cached the full text
        return super().format(record)

    def formatException(
        self,
        ei: tuple[type[BaseException], BaseException, TracebackType | None]
        | tuple[None, None, None],
    ) -> str:
        error = ei[1]
        if error is None:
            return super().formatException(ei)
        return traceback_without_messages(error)
