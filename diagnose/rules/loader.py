"""Load rule files in layers, validate them, and report problems as `file:line: reason`.

Layers, in order (later wins):
  1. shipped rules (diagnose/_data/rules, or rules/ in a checkout)
  2. each `--rules-dir DIR`, in the order given
  3. each folder in $NETPOLL_DIAGNOSE_RULES (os.pathsep-separated), in order

Within a layer, every *.yaml / *.yml file in the folder (not recursive, sorted by name) is read;
each YAML document is a rule or a directive. A rule whose id already exists replaces the earlier
one (and starts enabled unless it says `enabled: false`). After the layer's rules are in, its
directives run in file order: `disable` then `enable`, matching rules loaded so far (this layer
and earlier ones) by id or tag. A later layer's definition of a disabled id is a new rule.
Two rules with the same id in one layer are an error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from diagnose.errors import RuleFileError
from diagnose.features.model import Evidence, Features
from diagnose.rules import celeval, fieldpaths, template
from diagnose.rules.datadir import rules_dir
from diagnose.rules.knowledge import KnowledgeBase, KnowledgeError
from diagnose.rules.schema import Directive, Rule
from diagnose.rules.yamlsrc import Doc, YamlError, load_docs

from diagnose import RULES_ENV as ENV_VAR, settings  # noqa: E402
_BOUND = re.compile(r"\.\s*(?:exists|all|exists_one|filter|map)\s*\(\s*([A-Za-z_]\w*)\s*,")


@dataclass(frozen=True)
class Issue:
    path: Path
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


class RuleLoadError(RuleFileError):
    """One or more rule files are invalid. str() is one `file:line: reason` per line."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


@dataclass
class Layer:
    name: str
    path: Path


@dataclass
class LoadedRule:
    rule: Rule
    path: Path
    line: int
    layer: str
    doc: Doc
    condition: celeval.Compiled
    values: dict[str, celeval.Compiled]
    facts: list[celeval.Compiled]
    signals: list[celeval.Compiled]
    wheres: list[celeval.Compiled | None]
    enabled: bool = True
    history: list[str] = field(default_factory=list)  # "replaced x (layer)", "disabled by file:line"

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def source(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class RuleSet:
    rules: dict[str, LoadedRule]
    layers: list[Layer]
    knowledge: KnowledgeBase

    def active(self) -> list[LoadedRule]:
        return [r for r in self.rules.values() if r.enabled]

    def get(self, rule_id: str) -> LoadedRule | None:
        return self.rules.get(rule_id)


# --- layers -------------------------------------------------------------------------------

def layers_for(rules_dirs: list[str | Path] | None = None, env: dict[str, str] | None = None,
               include_shipped: bool = True) -> list[Layer]:
    layers: list[Layer] = []
    if include_shipped:
        layers.append(Layer("shipped", rules_dir()))
    for d in rules_dirs or []:
        layers.append(Layer(f"--rules-dir {d}", Path(d)))
    for d in settings(env).rules_dirs:
        layers.append(Layer(f"${ENV_VAR} {d}", Path(d)))
    return layers


def _layer_tags(layers: list[Layer]) -> list[str]:
    """A short tag per layer for reports: '' for the shipped rules, 'team', 'team2'... for
    --rules-dir folders, 'env', 'env2'... for $NETPOLL_DIAGNOSE_RULES ones (an absolute
    install or home path would leak into shared reports and mean nothing to the reader)."""
    tags, seen = [], {}
    for lay in layers:
        base = "" if lay.name == "shipped" else ("env" if lay.name.startswith("$") else "team")
        if base:
            seen[base] = seen.get(base, 0) + 1
            base += str(seen[base]) if seen[base] > 1 else ""
        tags.append(base)
    return tags


def _relative_in(layer: Layer, path: Path) -> str:
    root = layer.path if layer.path.is_dir() else layer.path.parent
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        return path.name
    return f"{root.resolve().name}/{rel.as_posix()}"


def rule_file_label(layers: list[Layer], lr: LoadedRule) -> str:
    """Where a rule came from, relative to its layer: 'rules/fd_reuse.yaml' for a shipped
    rule, 'team:rules/x.yaml' for one from a --rules-dir folder named rules."""
    for tag, lay in zip(_layer_tags(layers), layers):
        if lay.name == lr.layer:
            rel = _relative_in(lay, lr.path)
            return f"{tag}:{rel}" if tag else rel
    return lr.path.name


def layer_labels(layers: list[Layer]) -> list[str]:
    """'shipped: rules/', 'team: rules/ (--rules-dir)': each layer without its absolute path."""
    out = []
    for tag, lay in zip(_layer_tags(layers), layers):
        folder = lay.path.name + ("/" if not lay.path.is_file() else "")
        how = "" if not tag else (" ($" + ENV_VAR + ")" if tag.startswith("env") else " (--rules-dir)")
        out.append(f"{tag or 'shipped'}: {folder}{how}")
    return out


def rule_files(folder: Path) -> list[Path]:
    if folder.is_file():
        return [folder]
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))


# --- validation of one rule ---------------------------------------------------------------

_DEFAULT_F = Features().model_dump()


def _loc_str(loc: tuple[Any, ...]) -> str:
    return ".".join(str(x) for x in loc if not (isinstance(x, str) and x.startswith("function-"))) or "rule"


_TYPE_TAGS = {"float", "int", "str", "bool", "ConfidenceSpec", "Selector"}


def _pydantic_issues(path: Path, doc: Doc, exc: ValidationError) -> list[Issue]:
    issues = []
    for err in exc.errors():
        raw = tuple(err["loc"])
        # a union (e.g. confidence: number | mapping) reports one error per member, tagged with
        # the member's type name; keep only the member that matches what the file has.
        tag_at = next((i for i, x in enumerate(raw) if isinstance(x, str) and x in _TYPE_TAGS), None)
        if tag_at is not None:
            try:
                actual = fieldpaths.resolve(doc.data, list(raw[:tag_at]))
            except (LookupError, TypeError):
                actual = None
            is_map = isinstance(actual, dict)
            if is_map != (raw[tag_at] not in ("float", "int", "str", "bool")):
                continue
        loc = tuple(x for x in raw if not (isinstance(x, str) and (x in _TYPE_TAGS or x.startswith("function-"))))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (not in the rule schema; see rules/README.md)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        issues.append(Issue(path, doc.line_of(loc), f"{_loc_str(loc)}: {msg}"))
    seen, out = set(), []
    for i in issues:
        if (i.line, i.reason) not in seen:
            seen.add((i.line, i.reason))
            out.append(i)
    return out


CEL_FUNCTIONS = {
    "size", "has", "int", "uint", "double", "string", "bytes", "bool", "type", "dyn", "duration",
    "timestamp", "matches", "contains", "startsWith", "endsWith", "exists", "all", "exists_one",
    "filter", "map", "getFullYear", "getMonth", "getDate", "getDayOfMonth", "getDayOfWeek",
    "getDayOfYear", "getHours", "getMinutes", "getSeconds", "getMilliseconds",
}


def _unknown_functions(compiled: celeval.Compiled) -> list[str]:
    try:
        names = compiled.program.functions()
    except Exception:  # noqa: BLE001 - static analysis is best effort
        return []
    return sorted(n for n in names if n[:1].isalpha() and n not in CEL_FUNCTIONS)


def _unknown_variables(compiled: celeval.Compiled, source: str, allowed: set[str]) -> list[str]:
    bound = set(_BOUND.findall(source))
    return sorted(v for v in compiled.variables if v not in allowed and v not in bound)


def _check_cel(path: Path, doc: Doc, loc: tuple[Any, ...], source: str, roots: dict[str, Any],
               issues: list[Issue], what: str, smoke: dict[str, Any] | None = None,
               want_bool: bool = False) -> celeval.Compiled | None:
    try:
        compiled = celeval.compile_expr(source)
    except celeval.CelCompileError as exc:
        issues.append(Issue(path, doc.text_line(loc, exc.line, exc.column), f"{what}: CEL {exc.message}"))
        return None
    bad = False
    for problem in fieldpaths.check_expression(source, roots):
        issues.append(Issue(path, doc.text_line(loc), f"{what}: {problem}"))
        bad = True
    unknown = _unknown_variables(compiled, source, set(roots))
    if unknown:
        names = ", ".join(sorted(roots))
        issues.append(Issue(path, doc.text_line(loc), f"{what}: unknown variable(s) {', '.join(unknown)} (available: {names})"))
        bad = True
    unknown_fns = _unknown_functions(compiled)
    if unknown_fns:
        issues.append(Issue(path, doc.text_line(loc), f"{what}: unknown function(s) {', '.join(unknown_fns)} "
                            "(CEL standard functions only, e.g. size, double, int, contains, matches, exists)"))
        bad = True
    if smoke is not None and not bad:
        try:
            result = celeval.evaluate(compiled, smoke)
        except celeval.CelEvalError as exc:
            msg = str(exc)
            if any(k in msg for k in ("overload", "Unsupported", "no such key", "Undefined")):
                issues.append(Issue(path, doc.text_line(loc), f"{what}: {msg}"))
                bad = True
        else:
            if want_bool and not isinstance(result, bool):
                issues.append(Issue(path, doc.text_line(loc), f"{what}: must be a boolean expression, got {type(result).__name__}"))
                bad = True
    return None if bad else compiled


def build_rule(path: Path, doc: Doc, layer: str, kb: KnowledgeBase | None) -> tuple[LoadedRule | None, list[Issue]]:
    issues: list[Issue] = []
    try:
        rule = Rule.model_validate(doc.data)
    except ValidationError as exc:
        return None, _pydantic_issues(path, doc, exc)
    froot = {"f": Features}
    smoke = {"f": _DEFAULT_F}
    cond = _check_cel(path, doc, ("condition",), rule.condition, froot, issues, "condition", smoke, want_bool=True)
    values: dict[str, celeval.Compiled] = {}
    for name, src in rule.values.items():
        c = _check_cel(path, doc, ("values", name), src, froot, issues, f"values.{name}", smoke)
        if c:
            values[name] = c
    facts = []
    for i, fact in enumerate(rule.facts):
        c = _check_cel(path, doc, ("facts", i, "value"), fact.value, froot, issues, f"facts[{i}].value", smoke)
        if c:
            facts.append(c)
    signals = []
    if not isinstance(rule.confidence, float):
        for i, sig in enumerate(rule.confidence.signals):
            loc = ("confidence", "signals", i, "value")
            c = _check_cel(path, doc, loc, sig.value, froot, issues, f"confidence.signals[{i}].value", smoke)
            if c:
                signals.append(c)
    wheres: list[celeval.Compiled | None] = []
    ev_paths = fieldpaths.evidence_list_paths()
    for i, sel in enumerate(rule.evidence):
        if sel.from_ not in ev_paths:
            issues.append(Issue(path, doc.line_of(("evidence", i, "from")),
                                f"evidence[{i}].from: {sel.from_!r} is not an evidence list (one of: {', '.join(ev_paths)})"))
        if sel.where:
            smoke_e = {"f": _DEFAULT_F, "e": Evidence(note="").model_dump()}
            c = _check_cel(path, doc, ("evidence", i, "where"), sel.where, {"f": Features, "e": Evidence},
                           issues, f"evidence[{i}].where", smoke_e, want_bool=True)
            wheres.append(c)
        else:
            wheres.append(None)
    for problem in template.check(rule.message, Features, set(rule.values)):
        issues.append(Issue(path, doc.text_line(("message",)), f"message: {problem}"))
    if kb is not None and rule.knowledge not in kb:
        issues.append(Issue(path, doc.line_of(("knowledge",)),
                            f"knowledge: no entry {rule.knowledge!r} (knowledge/{rule.knowledge}.md)"))
    if issues or cond is None:
        return None, issues
    lr = LoadedRule(rule=rule, path=path, line=doc.start_line, layer=layer, doc=doc, condition=cond,
                    values=values, facts=facts, signals=signals, wheres=wheres, enabled=rule.enabled)
    return lr, []


# --- files and layers ---------------------------------------------------------------------

@dataclass
class FileContents:
    rules: list[LoadedRule]
    directives: list[tuple[Directive, Path, int]]
    issues: list[Issue]


def read_file(path: Path, layer: str, kb: KnowledgeBase | None) -> FileContents:
    out = FileContents([], [], [])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        out.issues.append(Issue(path, 1, f"cannot read: {exc}"))
        return out
    try:
        docs = load_docs(text)
    except YamlError as exc:
        out.issues.append(Issue(path, exc.line, exc.reason))
        return out
    if not docs:
        out.issues.append(Issue(path, 1, "empty rule file"))
    for doc in docs:
        if doc.data is None:
            continue
        if not isinstance(doc.data, dict):
            out.issues.append(Issue(path, doc.start_line, "a rule file document must be a mapping (a rule, or `disable:`/`enable:`)"))
            continue
        if "id" not in doc.data and ("disable" in doc.data or "enable" in doc.data):
            try:
                out.directives.append((Directive.model_validate(doc.data), path, doc.start_line))
            except ValidationError as exc:
                out.issues.extend(_pydantic_issues(path, doc, exc))
            continue
        lr, issues = build_rule(path, doc, layer, kb)
        out.issues.extend(issues)
        if lr is not None:
            out.rules.append(lr)
    return out


def load_knowledge(layers: list[Layer]) -> KnowledgeBase:
    """Shipped knowledge plus each non-shipped layer's `knowledge/` subfolder, if any."""
    extra = [lay.path / "knowledge" for lay in layers if lay.name != "shipped" and (lay.path / "knowledge").is_dir()]
    return KnowledgeBase.load(extra)


def load_ruleset(rules_dirs: list[str | Path] | None = None, env: dict[str, str] | None = None,
                 include_shipped: bool = True, layers: list[Layer] | None = None) -> RuleSet:
    """Load every layer. Raises RuleLoadError listing every problem found (not just the first)."""
    layers = layers if layers is not None else layers_for(rules_dirs, env, include_shipped)
    issues: list[Issue] = []
    try:
        kb = load_knowledge(layers)
    except KnowledgeError as exc:
        raise RuleLoadError([Issue(exc.path, exc.line, exc.reason)]) from None
    rules: dict[str, LoadedRule] = {}
    for layer in layers:
        if not layer.path.exists():
            issues.append(Issue(layer.path, 0, f"rules folder does not exist ({layer.name})"))
            continue
        layer_ids: dict[str, LoadedRule] = {}
        directives: list[tuple[Directive, Path, int]] = []
        for path in rule_files(layer.path):
            contents = read_file(path, layer.name, kb)
            issues.extend(contents.issues)
            directives.extend(contents.directives)
            for lr in contents.rules:
                if lr.id in layer_ids:
                    first = layer_ids[lr.id]
                    issues.append(Issue(lr.path, lr.line, f"duplicate rule id {lr.id!r} in this layer (also at {first.source})"))
                    continue
                layer_ids[lr.id] = lr
                if lr.id in rules:
                    old = rules[lr.id]
                    lr.history.append(f"replaces {old.source} ({old.layer})")
                rules[lr.id] = lr
        for directive, path, line in directives:
            for action, sel in (("disable", directive.disable), ("enable", directive.enable)):
                if sel is None:
                    continue
                matched = [r for r in rules.values() if sel.matches(r.rule)]
                for r in matched:
                    r.enabled = action == "enable"
                    r.history.append(f"{action}d by {path}:{line} ({layer.name})")
    if issues:
        raise RuleLoadError(issues)
    return RuleSet(rules=rules, layers=layers, knowledge=kb)


def validate_paths(paths: list[Path], with_shipped_knowledge: bool = True) -> tuple[int, list[Issue]]:
    """Validate rule files/folders on their own (for `rules validate`). Returns (rules ok, issues)."""
    layers = [Layer(str(p), p) for p in paths]
    try:
        kb = load_knowledge(layers) if with_shipped_knowledge else None
    except KnowledgeError as exc:
        return 0, [Issue(exc.path, exc.line, exc.reason)]
    ok, issues = 0, []
    for layer in layers:
        if not layer.path.exists():
            issues.append(Issue(layer.path, 0, "no such file or folder"))
            continue
        seen: dict[str, LoadedRule] = {}
        for path in rule_files(layer.path):
            contents = read_file(path, layer.name, kb)
            issues.extend(contents.issues)
            for lr in contents.rules:
                if lr.id in seen:
                    issues.append(Issue(lr.path, lr.line, f"duplicate rule id {lr.id!r} (also at {seen[lr.id].source})"))
                    continue
                seen[lr.id] = lr
                ok += 1
    return ok, issues
