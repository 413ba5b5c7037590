"""Tool specs from a CodeGym-style class: names, descriptions and JSON Schemas of the
parameters, from signatures, type hints and Google-style docstrings (`Args:` with
`name (type): description`, `Returns:`, `Example Output:`)."""

import inspect
import json
import re
import typing


def tool_names(cls, instance):
    """`func_mapping`'s keys if the instance has that dict (CodeGym's convention), else the
    public methods whose names start with a capital letter, in definition order."""
    mapping = getattr(instance, "func_mapping", None)
    if isinstance(mapping, dict) and mapping:
        return [name for name in mapping if isinstance(name, str)]
    names = []
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if name[:1].isupper() and callable(value) and name not in names:
                names.append(name)
    return names


def tool_specs(cls, instance):
    """`[(name, description, parameters_schema_json)]` for every tool."""
    return [_spec(name, getattr(cls, name, None)) for name in tool_names(cls, instance)]


def _spec(name, function):
    if function is None or not callable(function):
        schema = {"type": "object", "properties": {}}
        return (name, "", json.dumps(schema))
    doc = _Doc(inspect.getdoc(function) or "")
    try:
        hints = typing.get_type_hints(function)
    except Exception:
        hints = getattr(function, "__annotations__", {}) or {}
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    properties = {}
    required = []
    for index, parameter in enumerate(parameters):
        if index == 0 and parameter.name in ("self", "cls"):
            continue
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        schema = _hint_schema(hints.get(parameter.name))
        arg_type, arg_text = doc.args.get(parameter.name, ("", ""))
        if schema is None:
            schema = _text_schema(arg_type) or {}
        schema = dict(schema)
        if arg_text:
            schema["description"] = arg_text
        if parameter.default is parameter.empty:
            required.append(parameter.name)
        else:
            try:
                json.dumps(parameter.default)
                schema["default"] = parameter.default
            except (TypeError, ValueError):
                pass
        properties[parameter.name] = schema
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    description = doc.summary
    if doc.example:
        description = f"{description} Example output: {doc.example}".strip()
    return (name, description, json.dumps(schema))


class _Doc:
    """The parts of a Google-style docstring tools use."""

    SECTION = re.compile(r"^(Args|Arguments|Parameters|Returns|Return|Raises|Example Output|Example|Examples)\s*:\s*$")
    ARG = re.compile(r"^\s*(\*{0,2}\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")

    def __init__(self, text):
        self.summary = ""
        self.args = {}
        self.example = ""
        sections = {"": []}
        current = ""
        for line in text.splitlines():
            match = self.SECTION.match(line.strip())
            if match:
                current = match.group(1)
                sections.setdefault(current, [])
                continue
            sections.setdefault(current, []).append(line)
        self.summary = " ".join(" ".join(sections[""]).split())
        last = None
        for line in sections.get("Args", []) + sections.get("Arguments", []) + sections.get("Parameters", []):
            match = self.ARG.match(line)
            if match and not line.startswith((" " * 8, "\t\t")) and match.group(1).lower() != "none":
                last = match.group(1).lstrip("*")
                self.args[last] = ((match.group(2) or "").strip(), match.group(3).strip())
            elif last and line.strip():
                kind, description = self.args[last]
                self.args[last] = (kind, f"{description} {line.strip()}".strip())
        example = sections.get("Example Output", [])
        self.example = " ".join(" ".join(example).split())


_SIMPLE = {int: "integer", float: "number", str: "string", bool: "boolean", dict: "object"}


def _hint_schema(hint):
    """A JSON Schema for a type hint, or None when there is none (or it says nothing)."""
    if hint is None or hint is inspect.Parameter.empty or hint is typing.Any:
        return None
    if hint in _SIMPLE:
        return {"type": _SIMPLE[hint]}
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint in (list, tuple, set) or origin in (list, tuple, set, frozenset):
        schema = {"type": "array"}
        items = [a for a in args if a is not Ellipsis]
        if len(set(items)) == 1:
            item = _hint_schema(items[0])
            if item:
                schema["items"] = item
        return schema
    if origin is dict:
        return {"type": "object"}
    if origin is typing.Union or type(hint).__name__ == "UnionType":
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return _hint_schema(options[0])
        types = [_hint_schema(a) for a in options]
        if all(types):
            return {"anyOf": types}
        return None
    if isinstance(hint, str):
        return _text_schema(hint)
    return None


_TEXT = {
    "int": {"type": "integer"},
    "integer": {"type": "integer"},
    "float": {"type": "number"},
    "number": {"type": "number"},
    "str": {"type": "string"},
    "string": {"type": "string"},
    "bool": {"type": "boolean"},
    "boolean": {"type": "boolean"},
    "dict": {"type": "object"},
    "list": {"type": "array"},
    "tuple": {"type": "array"},
}


def _text_schema(text):
    """A JSON Schema for a docstring type such as `int`, `list[int]`, `List[str]`."""
    text = (text or "").strip().replace(" ", "")
    text = re.sub(r",optional$", "", text)
    if not text:
        return None
    lower = text.lower()
    if lower in _TEXT:
        return dict(_TEXT[lower])
    match = re.match(r"^(list|tuple|set|sequence)\[(.*)\]$", lower)
    if match:
        schema = {"type": "array"}
        item = _text_schema(match.group(2))
        if item:
            schema["items"] = item
        return schema
    if re.match(r"^dict\[", lower):
        return {"type": "object"}
    return None
