"""What decides a rule version's behaviour, as a fingerprint that `released.json` pins.

A released version must keep doing exactly what it did, and nothing else should be frozen with
it. So the fingerprint follows what the version actually reaches, definition by definition,
starting from its logic's `evaluate`:

- **code**: every function, method and class it reaches, in its own module, the rule libraries,
  `Facts`, the terminology's matching code and the record's entry types, each as its syntax tree
  without docstrings, comments or type annotations (so those can be improved freely). Adding a
  function nobody reaches changes nothing; editing one a released version reaches changes that
  version's fingerprint, and only that version's;
- **constants** it reads (module constants, class attributes), by value;
- **parameters**: the fields of its logic (thresholds, windows, suggested orders), by value;
- **value sets**: the codes of every value set it declares, at its terminology release;
- **record behaviour**: for every list of the record and field of its entries it reads
  (`PatientRecord.labs`, `PatientRecord.labs.value`, ...), the
  hash that the record contract (`cds/record/contract.json`) gives that field's behaviour on a
  frozen corpus of real records (the record builder is checked against that contract by its
  tests, so a builder change that alters a field a released version reads fails there);
- **what the card shows of the version itself**: title, source label and address, severities.

Not in it: docstrings, comments, annotations, provenance text (guideline prose, rationale,
changes), and how a finding is laid out as markdown (the service's presentation, `cds.cards`).

How names are followed (statically, from the source, resolving names with the live modules):
a bare name resolves in the function's module; `module.name` in that module; `self.name` on the
logic's own class, so an overriding method in a later version is the one followed; any other
`thing.name` resolves by name to every class member in scope so called, which can only
over-approximate (a version may be tied to a definition it does not really use, never the
reverse). Rules and libraries must therefore not reach code dynamically (getattr with a computed
name, eval): the architecture test forbids it.

Each part is named (`code:cds.rules.lib.results.v1:latest_lab`, `param:k_critical`,
`valueset:potassium@2026.11`, `record:PatientRecord.labs.value@2026.11`), so a changed
fingerprint says what changed, and `cds rules diff` compares two versions part by part.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import functools
import hashlib
import inspect
import re
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from cds.terminology import Terminology

# Modules whose definitions a rule version can reach and depend on.
SCOPE = (
    "cds.rules.",
    "cds.facts",
    "cds.record.entries",
    "cds.terminology",
    "cds.fhirtime",
)
# Modules in cds.rules that are machinery around rules, not part of any rule's behaviour.
OUTSIDE = (
    "cds.rules.registry",
    "cds.rules.fingerprint",
    "cds.rules.release",
)
RECORD_ENTRIES = "cds.record.entries"
# The data classes rules hand to the service (Finding, Evidence, OrderSuggestion...) are an
# interface, not behaviour: what a version gives is in its own code (the values it passes), and
# every field a version may leave out has an empty default, so adding a field to the interface
# changes no released version. Their class bodies are therefore not parts of a fingerprint.
INTERFACE = "cds.rules.base"
_SHORT = 16  # hex digits kept per part: enough to tell parts apart, short enough to read


class FingerprintError(Exception):
    """The code does something the fingerprint cannot follow (a value it cannot compare)."""


@dataclass(frozen=True)
class Fingerprint:
    digest: str  # "sha256:..." over every part
    parts: Mapping[str, str]  # part name -> short hash, or the value itself for parameters
    valuesets_mentioned: frozenset[str] = frozenset()  # value set names in the reached code

    def changed_parts(self, other: Mapping[str, str]) -> list[str]:
        """Part names that differ from `other` (added, removed or changed), sorted."""
        names = set(self.parts) | set(other)
        return sorted(n for n in names if self.parts.get(n) != other.get(n))


def record_contract_names(fields: set[str]) -> set[str]:
    """The record contract entries for the record fields code reads ("LabEntry.value",
    "PatientRecord.labs", "PatientInfo.birth_date"): each list of the record it reads, and each
    field read of that list's entries (cds/record/contract.py)."""
    from cds.record.entries import PatientRecord  # the record's shape, read once per call

    hints = typing.get_type_hints(PatientRecord)
    names = {name for name in fields if name.startswith("PatientInfo.")}
    for record_field in (name for name in fields if name.startswith("PatientRecord.")):
        if record_field == "PatientRecord.patient":
            continue  # its fields are the PatientInfo ones
        names.add(record_field)
        attribute = record_field.split(".", 1)[1]
        entry = _entry_type(hints.get(attribute))
        if entry is None:
            continue
        names |= {
            f"{record_field}.{name.split('.', 1)[1]}"
            for name in fields
            if name.startswith(f"{entry.__qualname__}.")
        }
    return names


def _entry_type(hint: Any) -> type | None:
    """ConditionEntry for list[ConditionEntry]; LabEntry for dict[str, list[LabEntry]]."""
    while True:
        args = typing.get_args(hint)
        if not args:
            return hint if isinstance(hint, type) and dataclasses.is_dataclass(hint) else None
        hint = args[-1]


def in_scope(module: str | None) -> bool:
    if not module:
        return False
    if module.startswith(OUTSIDE):
        return False
    return any(module == s.rstrip(".") or module.startswith(s) for s in SCOPE)


def rule_fingerprint(
    rule: Any,  # RuleVersion (typed loosely: registry and base import this module's callers)
    *,
    terminology: Terminology,
    record_contract: Mapping[str, str],
) -> Fingerprint:
    """The fingerprint of one rule version. `record_contract` maps "Entry.field" to the hash of
    that field's behaviour at the version's terminology release."""
    logic = rule.logic
    reach = _Reach(
        known_valuesets=frozenset(terminology.valueset_names),
        modules=visible_modules(type(logic).__module__),
    )
    reach.parameters(logic)
    reach.method(type(logic), "evaluate")
    for name in sorted(rule.valuesets):
        entries = terminology.valueset(name).entries
        codes = sorted(f"{e.system}|{e.code}|{e.match}" for e in entries)
        reach.parts[f"valueset:{name}@{terminology.release}"] = _hash("\n".join(codes))
    for name in sorted(record_contract_names(reach.record_fields)):
        key = f"record:{name}@{terminology.release}"
        reach.parts[key] = record_contract.get(name, "not in the record contract")
    reach.parts["meta:title"] = repr(rule.title)
    reach.parts["meta:source"] = repr((rule.source_label, rule.provenance.url))
    reach.parts["meta:severities"] = repr(tuple(rule.severities))
    reach.parts["meta:terminology"] = repr(rule.terminology)
    return reach.fingerprint()


def logic_fingerprint(logic: Any, *, root: str) -> Fingerprint:
    """The fingerprint of a frozen dataclass whose method `root` is its behaviour (the card
    selection policy of a ruleset release)."""
    reach = _Reach(known_valuesets=frozenset(), modules=visible_modules(type(logic).__module__))
    reach.parameters(logic)
    reach.method(type(logic), root)
    return reach.fingerprint()


# ---------------------------------------------------------------------------------------------


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:_SHORT]


_FIELD = object()  # marks a dataclass field in the member index


@dataclass
class _Reach:
    known_valuesets: frozenset[str]
    # The modules whose classes `thing.name` may refer to (see visible_modules).
    modules: frozenset[str]
    parts: dict[str, str] = field(default_factory=dict)
    record_fields: set[str] = field(default_factory=set)
    mentioned: set[str] = field(default_factory=set)
    _visited: set[tuple[int, int]] = field(default_factory=set)
    _classes: set[int] = field(default_factory=set)

    def fingerprint(self) -> Fingerprint:
        text = "\n".join(f"{name}={value}" for name, value in sorted(self.parts.items()))
        return Fingerprint(
            digest="sha256:" + hashlib.sha256(text.encode()).hexdigest(),
            parts=dict(sorted(self.parts.items())),
            valuesets_mentioned=frozenset(self.mentioned),
        )

    # -- roots ---------------------------------------------------------------------------

    def parameters(self, logic: Any) -> None:
        if not dataclasses.is_dataclass(logic) or isinstance(logic, type):
            raise FingerprintError(f"{logic!r} is not a dataclass instance")
        for f in dataclasses.fields(logic):
            value = getattr(logic, f.name)
            self.parts[f"param:{f.name}"] = _stable(value)
            self._note_strings(value)
            self._value(value, label=f"param:{f.name}")
        self._class(type(logic))

    def method(self, owner: type, name: str) -> None:
        member = inspect.getattr_static(owner, name, None)
        if member is None:
            raise FingerprintError(f"{owner.__qualname__} has no {name}")
        self._member(member, owner)

    # -- what a name can be --------------------------------------------------------------

    def _member(self, member: Any, owner: type | None) -> None:
        """A class member reached through an attribute: method, property, constant or field."""
        function = _function_of(member)
        if function is not None:
            self._function(function, owner)
        elif member is not _FIELD:
            self._value(member, label=f"{getattr(owner, '__qualname__', '?')}.attribute")

    def _value(self, value: Any, *, label: str) -> None:
        """Whatever a name resolved to: follow code, record constants by value."""
        if isinstance(value, types.ModuleType):
            return
        function = _function_of(value)
        if function is not None:
            self._function(function, None)
            return
        if isinstance(value, type):
            self._class(value)
            return
        if dataclasses.is_dataclass(value):
            self._class(type(value))
            for f in dataclasses.fields(value):
                self._value(getattr(value, f.name), label=label)
            return
        if isinstance(value, tuple | list | frozenset | set):
            for item in value:
                if callable(item) or dataclasses.is_dataclass(item):
                    self._value(item, label=label)
            return
        if isinstance(value, Mapping):
            for item in value.values():
                if callable(item) or dataclasses.is_dataclass(item):
                    self._value(item, label=label)

    def _constant(self, module: str, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) or _function_of(value) is not None:
            return
        if isinstance(value, type):
            return
        try:
            self.parts[f"const:{module}:{name}"] = _hash(_stable(value))
        except FingerprintError:
            return  # e.g. a TypeVar or a typing alias: not a value any logic computes with
        self._note_strings(value)

    def _note_strings(self, value: Any) -> None:
        if isinstance(value, str):
            if value in self.known_valuesets:
                self.mentioned.add(value)
        elif isinstance(value, tuple | list | frozenset | set):
            for item in value:
                self._note_strings(item)

    # -- classes -------------------------------------------------------------------------

    def _class(self, cls: type) -> None:
        if id(cls) in self._classes or not in_scope(cls.__module__):
            return
        if cls.__module__ == INTERFACE:
            return  # the shape of what rules give the service: see INTERFACE
        self._classes.add(id(cls))
        self.parts[f"class:{cls.__module__}:{cls.__qualname__}"] = _class_digest(cls)
        for base in cls.__bases__:
            self._class(base)
        for special in ("__init__", "__post_init__"):
            member = cls.__dict__.get(special)
            if member is not None and _function_of(member) is not None:
                self._member(member, cls)
        for name, value in cls.__dict__.items():
            if name.startswith("__") or _function_of(value) is not None:
                continue
            if isinstance(value, property | cached_property | staticmethod | classmethod):
                continue
            self._constant(f"{cls.__module__}:{cls.__qualname__}", name, value)
            self._value(value, label=name)

    # -- functions -----------------------------------------------------------------------

    def _function(self, function: types.FunctionType, owner: type | None) -> None:
        if not in_scope(function.__module__):
            return
        if function.__code__.co_filename.startswith("<"):
            return  # generated by @dataclass from the fields: the class's own part covers it
        # A method is followed once per class it is bound to: `self.x` inside it depends on
        # which class `self` is (a later version's subclass overrides x).
        key = (id(function), id(owner))
        if key in self._visited:
            return
        self._visited.add(key)
        analysis = _analyse(function.__code__)
        label = f"code:{function.__module__}:{function.__qualname__}"
        self.parts[label] = analysis.digest
        method_owner = owner if owner is not None else _defining_class(function)
        static = method_owner is not None and isinstance(
            inspect.getattr_static(method_owner, function.__name__, None), staticmethod
        )
        self_name = analysis.first_argument if method_owner is not None and not static else None
        references = analysis.references
        for text in references.strings:
            if text in self.known_valuesets:
                self.mentioned.add(text)
        namespace = function.__globals__
        closure = _closure(function)
        for name in sorted(references.globals):
            if name in closure:
                self._value(closure[name], label=name)
                continue
            if name not in namespace:
                if hasattr(builtins, name):
                    continue
                raise FingerprintError(f"{label}: cannot resolve {name!r}")
            value = namespace[name]
            self._constant(function.__module__, name, value)
            self._value(value, label=name)
        for base, attribute in sorted(references.attributes):
            if base in references.local and base != self_name:
                self._by_name(attribute)  # a local variable: its type is not known statically
            else:
                self._attribute(base, attribute, namespace, closure, method_owner, self_name)
        for attribute in sorted(references.any_attributes):
            self._by_name(attribute)

    def _attribute(
        self,
        base: str,
        attribute: str,
        namespace: Mapping[str, Any],
        closure: Mapping[str, Any],
        owner: type | None,
        self_name: str | None,
    ) -> None:
        if base == self_name and owner is not None:
            member = inspect.getattr_static(owner, attribute, _MISSING)
            if member is _MISSING:
                self._by_name(attribute)  # an instance attribute set in __init__
            elif _is_field(owner, attribute):
                pass  # a parameter: the logic's fields are parts of their own
            else:
                self._member(member, owner)
            return
        target = closure.get(base, namespace.get(base, _MISSING))
        if isinstance(target, types.ModuleType):
            if in_scope(target.__name__):
                value = getattr(target, attribute, _MISSING)
                if value is _MISSING:
                    raise FingerprintError(f"{target.__name__} has no {attribute!r}")
                self._constant(target.__name__, attribute, value)
                self._value(value, label=attribute)
            return
        if isinstance(target, type) and in_scope(target.__module__):
            member = inspect.getattr_static(target, attribute, _MISSING)
            if member is not _MISSING and not _is_field(target, attribute):
                self._member(member, target)
                return
        self._by_name(attribute)

    def _by_name(self, attribute: str) -> None:
        """`thing.attribute` where `thing` is a local or an expression: every class member in
        scope with that name (its type is not known statically)."""
        for owner, member in _member_index(self.modules).get(attribute, ()):
            if member is _FIELD:
                # Reading a field is reading data: a record entry's field is record behaviour;
                # another dataclass's fields are covered where the code builds it (its class
                # is then reached by name).
                if owner.__module__ == RECORD_ENTRIES:
                    self.record_fields.add(f"{owner.__qualname__}.{attribute}")
            else:
                self._member(member, owner)


_MISSING = object()


def _function_of(value: Any) -> types.FunctionType | None:
    if isinstance(value, staticmethod | classmethod):
        value = value.__func__
    elif isinstance(value, property):
        value = value.fget
    elif isinstance(value, cached_property):
        value = value.func
    return value if isinstance(value, types.FunctionType) else None


def _is_field(cls: type, name: str) -> bool:
    return dataclasses.is_dataclass(cls) and name in {f.name for f in dataclasses.fields(cls)}


def _defining_class(function: types.FunctionType) -> type | None:
    parts = function.__qualname__.split(".")
    if len(parts) < 2 or "<locals>" in parts:
        return None
    owner: Any = sys.modules[function.__module__]
    for part in parts[:-1]:
        owner = getattr(owner, part, None)
    return owner if isinstance(owner, type) else None


def _closure(function: types.FunctionType) -> dict[str, Any]:
    if not function.__closure__:
        return {}
    values: dict[str, Any] = {}
    for name, cell in zip(function.__code__.co_freevars, function.__closure__, strict=True):
        try:
            values[name] = cell.cell_contents
        except ValueError:  # an empty cell
            continue
    return values


# Facts is what every rule is given, so its classes are always visible, with what it returns.
ALWAYS_VISIBLE = ("cds.facts",)


def visible_modules(root: str) -> frozenset[str]:
    """The modules in scope that `root` imports, directly or through one another (read from
    their live namespaces: an imported module, or the module a function or class was imported
    from), plus Facts'. Only their classes can be what `thing.name` refers to in the code a
    rule version reaches: another rule's private classes never can."""
    found: set[str] = set()
    pending = [root, *ALWAYS_VISIBLE]
    while pending:
        name = pending.pop()
        if name in found or not in_scope(name) or name not in sys.modules:
            continue
        found.add(name)
        for value in vars(sys.modules[name]).values():
            if isinstance(value, types.ModuleType):
                pending.append(value.__name__)
            elif isinstance(value, type | types.FunctionType):
                pending.append(value.__module__)
    return frozenset(found)


_index_cache: dict[frozenset[str], dict[str, list[tuple[type, Any]]]] = {}


def _member_index(modules: frozenset[str]) -> dict[str, list[tuple[type, Any]]]:
    """Attribute name -> (class, member) for every class defined in `modules`."""
    cached = _index_cache.get(modules)
    if cached is not None:
        return cached
    index: dict[str, list[tuple[type, Any]]] = {}
    seen: set[int] = set()
    for module_name in sorted(modules):
        module = sys.modules[module_name]
        for value in vars(module).values():
            if not isinstance(value, type) or value.__module__ != module_name or id(value) in seen:
                continue
            seen.add(id(value))
            fields = (
                {f.name for f in dataclasses.fields(value)}
                if dataclasses.is_dataclass(value)
                else set()
            )
            for name in fields:
                index.setdefault(name, []).append((value, _FIELD))
            for name, member in value.__dict__.items():
                if name.startswith("__") or name in fields:
                    continue
                if _function_of(member) is not None:
                    index.setdefault(name, []).append((value, member))
    for members in index.values():
        members.sort(key=lambda pair: (pair[0].__module__, pair[0].__qualname__))
    _index_cache[modules] = index
    return index


# -- source ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Analysis:
    """What the fingerprint needs of one function's source (the same for every rule that
    reaches it, so computed once)."""

    digest: str
    references: _References
    first_argument: str | None


@functools.cache
def _analyse(code: types.CodeType) -> _Analysis:
    node = _normalised(_function_node(code))
    return _Analysis(_hash(ast.dump(node)), _References(node), _self_name(node))


def _function_node(code: types.CodeType) -> ast.FunctionDef | ast.AsyncFunctionDef:
    try:
        source = textwrap.dedent(inspect.getsource(code))
    except (OSError, TypeError) as exc:
        raise FingerprintError(f"no source for {code.co_qualname}: {exc}") from exc
    tree = ast.parse(source)
    node = tree.body[0] if tree.body else None
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        raise FingerprintError(f"{code.co_qualname} is not a plain def (a lambda?)")
    return node


@functools.cache
def _class_digest(cls: type) -> str:
    return _hash(ast.dump(_class_node(cls)))


def _class_node(cls: type) -> ast.ClassDef:
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError) as exc:
        raise FingerprintError(f"no source for {cls.__qualname__}: {exc}") from exc
    node = ast.parse(source).body[0]
    if not isinstance(node, ast.ClassDef):
        raise FingerprintError(f"{cls.__qualname__}: unexpected source")
    # The class's own statements (fields, attributes, decorators, bases); methods are parts of
    # their own, followed only when reached.
    node.body = [
        statement
        for statement in node.body
        if not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    return _normalised(node)


_DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
_Node = TypeVar("_Node", bound=ast.AST)


def _normalised(node: _Node) -> _Node:
    """The tree without docstrings and type annotations (neither changes what code does)."""
    for child in ast.walk(node):
        if isinstance(child, _DOCUMENTED) and child.body:
            first = child.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                child.body = child.body[1:] or [ast.Pass()]
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            child.returns = None
        elif isinstance(child, ast.arg):
            child.annotation = None
        elif isinstance(child, ast.AnnAssign):
            child.annotation = ast.Constant(None)
    return node


class _References(ast.NodeVisitor):
    """The names a function's body reads from outside itself, and the attributes it reads."""

    def __init__(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.local: set[str] = set()
        self.loaded: set[str] = set()
        # (base name, attribute) for `name.attribute`; attributes of anything else by name
        self.attributes: set[tuple[str, str]] = set()
        self.any_attributes: set[str] = set()
        self.strings: set[str] = set()
        self._collect_locals(node)
        for decorator in node.decorator_list:
            self.visit(decorator)
        for default in (*node.args.defaults, *node.args.kw_defaults):
            if default is not None:
                self.visit(default)
        for statement in node.body:
            self.visit(statement)

    @property
    def globals(self) -> set[str]:
        return self.loaded - self.local

    def _collect_locals(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for child in ast.walk(node):
            if isinstance(child, ast.arg):
                self.local.add(child.arg)
            elif isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store | ast.Del):
                self.local.add(child.id)
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                if child is not node:
                    self.local.add(child.name)
            elif isinstance(child, ast.ExceptHandler) and child.name:
                self.local.add(child.name)
            elif isinstance(child, ast.alias):
                self.local.add((child.asname or child.name).split(".")[0])

    def visit_arg(self, node: ast.arg) -> None:
        return  # annotations are not code

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.visit(node.target)
        if node.value is not None:
            self.visit(node.value)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for statement in node.body:
            self.visit(statement)
        for default in (*node.args.defaults, *node.args.kw_defaults):
            if default is not None:
                self.visit(default)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.loaded.add(node.id)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name):
            self.attributes.add((node.value.id, node.attr))
        else:
            self.any_attributes.add(node.attr)
        self.visit(node.value)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            self.strings.add(node.value)


def _self_name(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    positional = [*node.args.posonlyargs, *node.args.args]
    return positional[0].arg if positional else None


# -- values ------------------------------------------------------------------------------------


def _stable(value: Any) -> str:
    """A text for a value that is the same in every run (no ids, no set ordering)."""
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return repr(value)
    if isinstance(value, frozenset | set):
        return "{" + ", ".join(sorted(_stable(v) for v in value)) + "}"
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_stable(v) for v in value) + ")"
    if isinstance(value, Mapping):
        items = sorted((_stable(k), _stable(v)) for k, v in value.items())
        return "{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        inner = ", ".join(
            f"{f.name}={_stable(getattr(value, f.name))}" for f in dataclasses.fields(value)
        )
        return f"{type(value).__qualname__}({inner})"
    if isinstance(value, re.Pattern):
        return f"re({value.pattern!r}, {value.flags})"
    if isinstance(value, type | types.FunctionType | types.BuiltinFunctionType):
        return f"<{value.__module__}.{value.__qualname__}>"
    if isinstance(value, Callable):  # type: ignore[arg-type]
        raise FingerprintError(f"cannot compare callable {value!r}")
    raise FingerprintError(f"cannot compare a {type(value).__name__}: {value!r}")


def stable_text(value: Any) -> str:
    """The stable text of a parameter value, as `cds rules diff` shows it."""
    return _stable(value)


def shared_parts(fingerprints: Iterable[tuple[str, Fingerprint]], part: str) -> list[str]:
    """The keys whose fingerprint holds `part` (e.g. the versions a library function is in)."""
    return sorted(key for key, fingerprint in fingerprints if part in fingerprint.parts)
