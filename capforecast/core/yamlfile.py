"""YAML files read with the line of every key, so that errors can name both.

Examples
--------
>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "s.yaml"
>>> _ = path.write_text("name: cut\\nbudget:\\n  - {change: -20%}\\n")
>>> document, lines = read_yaml(path)
>>> document["budget"][0], lines[("budget", 0)]
({'change': '-20%'}, 3)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from capforecast.core.errors import InputError, Problem

Lines = dict[tuple[str | int, ...], int]


def read_yaml(path: Path) -> tuple[Any, Lines]:
    """The document of ``path`` and the line (from 1) of each key and list item in it,
    by its path of keys and indices; a file that cannot be read or parsed is an
    :class:`InputError` naming the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        message = f"cannot read: {error.strerror}"
        raise InputError([Problem(path.name, None, None, message)]) from None
    except UnicodeDecodeError:
        raise InputError([Problem(path.name, None, None, "not UTF-8 text")]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise InputError([Problem(path.name, line, None, f"not valid YAML: {problem}")]) from None
    lines: Lines = {}
    if node is not None:
        _walk(node, (), lines)
    return document, lines


def _walk(node: yaml.Node, key: tuple[str | int, ...], lines: Lines) -> None:
    lines.setdefault(key, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for name, value in node.value:
            lines[(*key, str(name.value))] = name.start_mark.line + 1
            _walk(value, (*key, str(name.value)), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, value in enumerate(node.value):
            _walk(value, (*key, index), lines)


def validation_problems(error: ValidationError, name: str, lines: Lines) -> list[Problem]:
    """One problem per pydantic error, naming the key (``budget.0.change``) and the line
    of the deepest part of it that is in the file."""
    problems = []
    for detail in error.errors():
        location = tuple(p for p in detail["loc"] if isinstance(p, (str, int)))
        line = None
        for end in range(len(location), -1, -1):
            if location[:end] in lines:
                line = lines[location[:end]]
                break
        key = ".".join(str(p) for p in location) or None
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            message = "unknown key"
        problems.append(Problem(name, line, key, message))
    return problems
