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

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from capforecast.core.errors import InputError, Problem
from capforecast.core.limits import LIMITS, shown

Lines = dict[tuple[str | int, ...], int]


def read_yaml(path: Path) -> tuple[Any, Lines]:
    """The document of ``path`` and the line (from 1) of each key and list item in it,
    by its path of keys and indices; a file that cannot be read or parsed, or that is
    over the bounds of :func:`load_yaml`, is an :class:`InputError` naming the line."""
    node, document = compose_yaml(read_text(path), path.name)
    lines: Lines = {}
    if node is not None:
        _walk(node, (), lines)
    return document, lines


def read_text(path: Path) -> str:
    """The UTF-8 text of ``path``, or an :class:`InputError` naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        message = f"cannot read: {error.strerror}"
        raise InputError([Problem(path.name, None, None, message)]) from None
    except UnicodeDecodeError:
        raise InputError([Problem(path.name, None, None, "not UTF-8 text")]) from None


class _Loader(yaml.SafeLoader):
    """The safe loader, reading ``1e-3`` as a number as YAML 1.2 does (YAML 1.1 wants a
    dot, ``1.0e-3``, and reads ``1e-3`` as text)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?([0-9][0-9_]*)?\.?[0-9_]*[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def load_yaml(text: str, name: str) -> Any:
    """The document of YAML ``text`` (from the file ``name``), read with bounded work.

    Aliases (``*name``) are refused, so a few hundred bytes cannot expand into gigabytes
    (the "billion laughs"); a document is at most ``LIMITS.yaml_nodes`` nodes and
    ``LIMITS.yaml_depth`` levels deep; only plain YAML types are built (no Python
    objects). Every refusal is an :class:`InputError` naming the line.

    Examples
    --------
    >>> load_yaml("a: [1, 2]\\nb: 1e-3\\nc: 2027Q1", "x.yaml")
    {'a': [1, 2], 'b': 0.001, 'c': '2027Q1'}
    >>> load_yaml("a: &x [1]\\nb: *x", "x.yaml")
    Traceback (most recent call last):
    ...
    capforecast.core.errors.InputError: 1 problem in the input:
      x.yaml, line 2: YAML aliases (*name) are not allowed; write the value out
    """
    return compose_yaml(text, name)[1]


def compose_yaml(text: str, name: str) -> tuple[yaml.Node | None, Any]:
    """The node tree and the document of ``text`` (see :func:`load_yaml`)."""
    try:
        _check_events(text, name)
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            document = None if node is None else loader.construct_document(node)
        finally:
            loader.dispose()
    except InputError:
        raise
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise InputError([Problem(name, line, None, f"not valid YAML: {problem}")]) from None
    except (ValueError, OverflowError) as error:  # an int of 5,000 digits, a 13th month
        message = f"not valid YAML: {shown(str(error), 80)}"
        raise InputError([Problem(name, None, None, message)]) from None
    return node, document


def _check_events(text: str, name: str) -> None:
    """Refuse aliases, and documents over the node and depth bounds, from the parser's
    events (before any node is built)."""
    nodes = depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        line = None if event.start_mark is None else event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            message = "YAML aliases (*name) are not allowed; write the value out"
            raise InputError([Problem(name, line, None, message)])
        if isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
            nodes += 1
            if nodes > LIMITS.yaml_nodes:
                message = f"more than {LIMITS.yaml_nodes} YAML values (the limit)"
                raise InputError([Problem(name, line, None, message)])
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > LIMITS.yaml_depth:
                message = f"nested more than {LIMITS.yaml_depth} levels deep (the limit)"
                raise InputError([Problem(name, line, None, message)])
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


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
