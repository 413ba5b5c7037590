"""`solve()` as a generator, so the host can drive it one tool call at a time.

CodeGym's oracle is straight-line code that acts through `self.step(action)` and reads
the returned observations. There are no threads or continuations in the component, so at
build time the source of `solve` — and of each method it reaches that calls `self.step`,
directly or through another such method — is rewritten: `self.step(action)` becomes
`(yield action)` and a call `self.helper(...)` of a rewritten method becomes
`(yield from self._codegym_oracle_helper(...))`. The rewritten methods are compiled in the
environment module's namespace (inside a class of the same name, so private names mangle
alike) and attached to the class as `_codegym_oracle_<name>`.
"""

import ast
import inspect
import textwrap

PREFIX = "_codegym_oracle_"


class OracleError(RuntimeError):
    pass


def rewrite_solve(cls):
    """Attach the generator form of `cls.solve` (and its helpers) to `cls`; returns the
    generator method's name, or None when the class has no `solve`."""
    if not callable(getattr(cls, "solve", None)):
        return None
    methods = _method_sources(cls)
    if "solve" not in methods:
        raise OracleError(f"{cls.__name__}.solve: its source is not available")
    rewritten = _reachable(methods)
    if "solve" not in rewritten:
        rewritten.add("solve")
    module = inspect.getmodule(cls)
    namespace = vars(module) if module is not None else {}
    for name in sorted(rewritten):
        node, first_line, filename = methods[name]
        function = _Rewriter(rewritten, name).rewrite(node)
        holder = ast.ClassDef(
            name=cls.__name__, bases=[], keywords=[], body=[function], decorator_list=[], type_params=[]
        )
        tree = ast.Module(body=[holder], type_ignores=[])
        ast.fix_missing_locations(tree)
        ast.increment_lineno(tree, first_line - 1)
        local = {}
        exec(compile(tree, filename, "exec"), namespace, local)
        setattr(cls, PREFIX + name, vars(local[cls.__name__])[PREFIX + name])
    return PREFIX + "solve"


def _method_sources(cls):
    """`{name: (FunctionDef, first line, file)}` for methods of `cls` and its bases whose
    source is available (the nearest definition wins)."""
    found = {}
    for klass in cls.__mro__:
        if klass is object:
            continue
        try:
            lines, first_line = inspect.getsourcelines(klass)
            filename = inspect.getsourcefile(klass) or "<environment>"
        except (OSError, TypeError):
            continue
        tree = ast.parse(textwrap.dedent("".join(lines)))
        classdef = next((n for n in tree.body if isinstance(n, ast.ClassDef)), None)
        if classdef is None:
            continue
        for node in classdef.body:
            if isinstance(node, ast.FunctionDef) and node.name not in found:
                found[node.name] = (node, first_line, filename)
    return found


def _self_call(node):
    """`name` if `node` is a call `self.name(...)`."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "self"
    ):
        return node.func.attr
    return None


def _reachable(methods):
    """Methods reached from `solve` (through `self.<method>(...)` calls) that call
    `self.step` directly or through another of them."""
    calls = {}
    for name, (node, _, _) in methods.items():
        calls[name] = {_self_call(n) for n in ast.walk(node)} - {None}
    reached = set()
    pending = ["solve"]
    while pending:
        name = pending.pop()
        if name in reached or name not in methods or name == "step":
            continue
        reached.add(name)
        pending.extend(calls[name])
    stepping = {name for name in reached if "step" in calls[name]}
    changed = True
    while changed:
        changed = False
        for name in reached - stepping:
            if calls[name] & stepping:
                stepping.add(name)
                changed = True
    return stepping


_SCOPES = (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


class _Rewriter(ast.NodeTransformer):
    def __init__(self, rewritten, name):
        self.rewritten = rewritten
        self.name = name

    def rewrite(self, node):
        for inner in ast.walk(node):
            if inner is not node and isinstance(inner, _SCOPES):
                if any(self._target(n) for n in ast.walk(inner)):
                    kind = type(inner).__name__
                    raise OracleError(
                        f"{self.name}: calls self.step inside a {kind}, which the oracle adapter "
                        "cannot suspend; use a plain loop"
                    )
        node = self.visit(node)
        node.name = PREFIX + node.name
        node.decorator_list = []
        return node

    def _target(self, node):
        name = _self_call(node)
        return name == "step" or name in self.rewritten

    def visit_Call(self, node):
        self.generic_visit(node)
        name = _self_call(node)
        if name == "step":
            if node.args:
                action = node.args[0]
            else:
                action = next((k.value for k in node.keywords if k.arg == "action"), ast.Constant(None))
            return ast.copy_location(ast.Yield(value=action), node)
        if name in self.rewritten:
            target = ast.Attribute(value=ast.Name(id="self", ctx=ast.Load()), attr=PREFIX + name, ctx=ast.Load())
            call = ast.Call(func=target, args=node.args, keywords=node.keywords)
            return ast.copy_location(ast.YieldFrom(value=call), node)
        return node
