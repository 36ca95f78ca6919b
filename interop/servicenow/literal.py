"""A reader for the object literals that ServiceNow's SDK writes its definitions in: objects with bare or quoted
keys, arrays, strings ('', "", `` without `${}`), numbers, booleans, identifiers and calls (`StringColumn({...})`),
comments, trailing commas and `as Type` casts (skipped). It reads the first value of a text and ignores what
follows it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_SPACE = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)*", re.DOTALL)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_IDENT = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "`": "`"}
_KEY = re.compile(r"[\w$]+")
_CAST = re.compile(r"as\b")
_WORDS: dict[str, Any] = {"true": True, "false": False, "null": None, "undefined": None}


@dataclass(frozen=True)
class Call:
    """`name(args...)`: a column constructor or a nested type (`FlowArray({...})`)."""

    name: str
    args: tuple[Any, ...]


def parse_literal(text: str) -> Any:
    """The first value in `text`; identifiers come back as their name."""
    value, _ = _Reader(text).value()
    return value


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip(self) -> None:
        self.pos = _SPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def peek(self) -> str:
        self.skip()
        return self.text[self.pos : self.pos + 1]

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise ValueError(f"expected {char!r} at {self.pos}: {self.text[self.pos : self.pos + 40]!r}")
        self.pos += 1

    def value(self) -> tuple[Any, int]:
        char = self.peek()
        if char == "{":
            return self.obj(), self.pos
        if char == "[":
            return self.sequence("[", "]"), self.pos
        if char in "'\"`":
            return self.string(), self.pos
        number = _NUMBER.match(self.text, self.pos)
        if number:
            self.pos = number.end()
            return float(number.group()) if "." in number.group() else int(number.group()), self.pos
        ident = _IDENT.match(self.text, self.pos)
        if ident is None:
            raise ValueError(f"unexpected {self.text[self.pos : self.pos + 40]!r} at {self.pos}")
        self.pos = ident.end()
        name = ident.group()
        if self.peek() == "(":
            return Call(name, self.sequence("(", ")")), self.pos
        return _WORDS.get(name, name), self.pos

    def sequence(self, open_: str, close: str) -> tuple[Any, ...]:
        self.expect(open_)
        items = []
        while self.peek() != close:
            items.append(self.value()[0])
            if self.peek() == ",":
                self.pos += 1
        self.pos += 1
        return tuple(items)

    def obj(self) -> dict[str, Any]:
        self.expect("{")
        out: dict[str, Any] = {}
        while self.peek() != "}":
            key = self.string() if self.peek() in "'\"" else self.key()
            self.expect(":")
            out[key] = self.value()[0]
            self.skip_cast()
            if self.peek() == ",":
                self.pos += 1
        self.pos += 1
        return out

    def skip_cast(self) -> None:
        """`value as Record<string, X>`: the type says nothing about the value."""
        self.skip()
        if not _CAST.match(self.text, self.pos):
            return
        depth = 0
        while depth or self.text[self.pos] not in ",}":
            char = self.text[self.pos]
            depth += (char in "<({[") - (char in ">)}]")
            self.pos += 1

    def key(self) -> str:
        match = _KEY.match(self.text, self.pos)
        if match is None:
            raise ValueError(f"expected a key at {self.pos}: {self.text[self.pos : self.pos + 40]!r}")
        self.pos = match.end()
        return match.group()

    def string(self) -> str:
        quote = self.text[self.pos]
        self.pos += 1
        out = []
        while (char := self.text[self.pos]) != quote:
            if char == "\\":
                self.pos += 1
                char = _ESCAPES.get(self.text[self.pos], self.text[self.pos])
            elif quote == "`" and self.text.startswith("${", self.pos):
                raise ValueError(f"template literal with a substitution at {self.pos}")
            out.append(char)
            self.pos += 1
        self.pos += 1
        return "".join(out)
