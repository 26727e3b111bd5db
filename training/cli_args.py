"""Map config dataclasses to argparse options and back, so no untyped namespace reaches an engine."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import inspect
import itertools
import json
import textwrap
import typing
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """Attribute docstrings (the string literal under each field) of a dataclass, by field name."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for node, following in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def _scalar_type(annotation: Any) -> type:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if args:  # Optional[X] / X | None
        return _scalar_type(args[0])
    return annotation if isinstance(annotation, type) else str


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type, *, skip: tuple[str, ...] = ()) -> None:
    """One `--field-name` option per dataclass field (bool fields become --x / --no-x), and `--config FILE`:
    a JSON object of fields that the options given beside it override. Options left out keep no value in the
    namespace, so the dataclass's own defaults apply."""
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    group = parser.add_argument_group(cls.__name__)
    group.add_argument(
        "--config",
        type=Path,
        help=f"JSON file of {cls.__name__} fields (as the run saves them); options given here override it",
    )
    for f in dataclasses.fields(cls):
        if f.name in skip or not f.init:
            continue
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:  # a required field has no option default to show
            raise TypeError(f"{cls.__name__}.{f.name} has no default")
        kind = _scalar_type(hints[f.name])
        flag = "--" + f.name.replace("_", "-")
        help_text = f"{docs.get(f.name, '')} (default: {default!r})".replace("%", "%%")  # argparse formats help
        if kind is bool:
            group.add_argument(
                flag, dest=f.name, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=help_text
            )
        else:
            group.add_argument(flag, dest=f.name, type=kind, default=argparse.SUPPRESS, help=help_text)


def config_file_load(cls: type, path: Path) -> dict[str, Any]:
    """The fields of a `--config` JSON file; unknown fields are an error naming them."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of {cls.__name__} fields")
    unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls) if f.init})
    if unknown:
        raise ValueError(f"{path}: unknown {cls.__name__} field(s) {', '.join(unknown)}")
    return data


def dataclass_from_args(cls: type[T], args: argparse.Namespace, **overrides: Any) -> T:
    """The dataclass from `--config` (if given), the options given, then `overrides`, in rising precedence."""
    names = {f.name for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    config_path = getattr(args, "config", None)
    values = config_file_load(cls, config_path) if config_path is not None else {}
    values.update({name: getattr(args, name) for name in names if hasattr(args, name)})
    values.update(overrides)
    return cls(**values)
