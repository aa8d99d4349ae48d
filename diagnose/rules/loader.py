"""Load rule files in layers, validate them, and report problems as `file:line: reason`.

Layers, in order (later wins):
  1. shipped rules (diagnose/_data/rules, or rules/ in a checkout)
  2. each `--rules-dir DIR`, in the order given
  3. each folder in $NETPOLL_DIAGNOSE_RULES (os.pathsep-separated), in order

Within a layer, every *.yaml / *.yml file in the folder (not recursive, sorted by name) is read;
each YAML document is a rule, an `override`, a `disable`/`enable` directive or a `config`.
A rule whose id already exists replaces the earlier one (and starts enabled unless it says
`enabled: false`). After the layer's rules are in, its overrides and directives run in file
and document order on the rules loaded so far (this layer and earlier ones); see
`layering.py`. Two rules with the same id in one layer are an error.

Every problem of every layer is collected (knowledge entries too), so one run shows them all.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from diagnose import RULES_ENV as ENV_VAR
from diagnose import settings
from diagnose.rules.datadir import rules_dir
from diagnose.rules.knowledge import KnowledgeBase
from diagnose.rules.layering import TestSource, apply_directive, apply_override
from diagnose.rules.ruledoc import CEL_FUNCTIONS, Issue, LoadedRule, RuleLoadError, _pydantic_issues, build_rule
from diagnose.rules.schema import ConfigDoc, Directive, OverrideDoc
from diagnose.rules.yamlsrc import Doc, UnreadableError, YamlError, load_docs, read_text

__all__ = ["CEL_FUNCTIONS", "ENV_VAR", "Issue", "Layer", "LoadedRule", "RuleLoadError", "RuleSet",
           "build_rule", "layers_for", "load_ruleset", "read_file", "rule_files", "validate_paths"]


@dataclass
class Layer:
    name: str
    path: Path

    @property
    def folder(self) -> Path:
        """The layer's folder (a single rule file's own folder): where its knowledge/ is."""
        return self.path if self.path.is_dir() else self.path.parent

    @property
    def is_shipped(self) -> bool:
        return self.name == "shipped"


@dataclass
class RuleSet:
    rules: dict[str, LoadedRule]
    layers: list[Layer]
    knowledge: KnowledgeBase
    tests: list[TestSource] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)  # "our code" package prefixes from layer configs

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
    return file_label(layers, lr.layer, lr.path)


def file_label(layers: list[Layer], layer_name: str, path: Path) -> str:
    """A file of layer `layer_name` named relative to its layer ('team:rules/x.yaml')."""
    for tag, lay in zip(_layer_tags(layers), layers):
        if lay.name == layer_name:
            rel = _relative_in(lay, path)
            return f"{tag}:{rel}" if tag else rel
    return path.name


def layer_tag(layers: list[Layer], layer_name: str) -> str:
    """'shipped', 'team', 'team2'... 'env': a layer named without its path."""
    for tag, lay in zip(_layer_tags(layers), layers):
        if lay.name == layer_name:
            return tag or "shipped"
    return ""


def layer_labels(layers: list[Layer]) -> list[str]:
    """'shipped: rules/', 'team: rules/ (--rules-dir)': each layer without its absolute path."""
    out = []
    for tag, lay in zip(_layer_tags(layers), layers):
        folder = lay.path.name + ("/" if not lay.path.is_file() else "")
        how = "" if not tag else (" ($" + ENV_VAR + ")" if tag.startswith("env") else " (--rules-dir)")
        out.append(f"{tag or 'shipped'}: {folder}{how}")
    return out


def rule_files(folder: Path) -> list[Path]:
    """The rule files of a layer: a folder's *.yaml/*.yml, or the path itself if it is not a
    folder (read_file then says what is wrong with a FIFO, a device or a binary file)."""
    if not folder.is_dir():
        return [folder]
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))


# --- files and layers ---------------------------------------------------------------------

@dataclass
class FileContents:
    rules: list[LoadedRule]
    actions: list[tuple[OverrideDoc | Directive, Doc]]  # overrides and directives, in document order
    issues: list[Issue]
    modules: list[str] = field(default_factory=list)


def _doc_kind(data: dict) -> str:
    if "id" in data:
        return "rule"
    for kind in ("override", "config", "disable", "enable"):
        if kind in data:
            return "directive" if kind in ("disable", "enable") else kind
    return "rule"


def read_file(path: Path, layer: str, kb: KnowledgeBase | None) -> FileContents:
    out = FileContents([], [], [])
    try:
        text = read_text(path)
    except UnreadableError as exc:
        out.issues.append(Issue(path, 1, f"cannot read rule file: {exc}", fatal=True))
        return out
    try:
        docs = load_docs(text)
    except YamlError as exc:
        out.issues.append(Issue(path, exc.line, exc.reason, fatal=exc.limit))
        return out
    if not docs:
        out.issues.append(Issue(path, 1, "empty rule file"))
    for doc in docs:
        if doc.data is None:
            continue
        if not isinstance(doc.data, dict):
            out.issues.append(Issue(path, doc.start_line, "a rule file document must be a mapping "
                                    "(a rule, `override:`, `disable:`/`enable:` or `config:`)"))
            continue
        kind = _doc_kind(doc.data)
        model = {"override": OverrideDoc, "config": ConfigDoc, "directive": Directive}.get(kind)
        if model is not None:
            try:
                parsed = model.model_validate(doc.data)
            except ValidationError as exc:
                out.issues.extend(_pydantic_issues(path, doc, exc))
                continue
            if isinstance(parsed, ConfigDoc):
                out.modules.extend(parsed.config.modules)
            else:
                out.actions.append((parsed, doc))
            continue
        lr, issues = build_rule(path, doc, layer, kb)
        out.issues.extend(issues)
        if lr is not None:
            out.rules.append(lr)
    return out


def load_knowledge(layers: list[Layer]) -> tuple[KnowledgeBase, list[Issue]]:
    """Shipped knowledge plus each other layer's `knowledge/` folder (a file's folder's, for a
    single rule file), and every broken entry as an Issue."""
    extra: list[Path] = []
    for lay in layers:
        if not lay.is_shipped and (lay.folder / "knowledge").is_dir() and lay.folder / "knowledge" not in extra:
            extra.append(lay.folder / "knowledge")
    kb, errors = KnowledgeBase.load_all(extra)
    return kb, [Issue(e.path, e.line, e.reason) for e in errors]


def build_ruleset(layers: list[Layer]) -> tuple[RuleSet, list[Issue]]:
    """Load every layer, collecting every problem instead of stopping at the first."""
    kb, issues = load_knowledge(layers)
    rules: dict[str, LoadedRule] = {}
    tests: list[TestSource] = []
    modules: list[str] = []
    for layer in layers:
        if not layer.path.exists():
            issues.append(Issue(layer.path, 0, f"rules folder does not exist ({layer.name})", fatal=True))
            continue
        layer_ids: dict[str, LoadedRule] = {}
        actions: list[tuple[OverrideDoc | Directive, Doc, Path]] = []
        for path in rule_files(layer.path):
            contents = read_file(path, layer.name, kb)
            issues.extend(contents.issues)
            actions.extend((a, d, path) for a, d in contents.actions)
            modules.extend(m for m in contents.modules if m not in modules)
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
                tests.append(TestSource(lr.id, lr.rule.tests, lr.path, lr.line, lr.doc, ("tests",)))
        for action, doc, path in actions:
            if isinstance(action, OverrideDoc):
                found = apply_override(action.override, doc, path, layer.name, rules, kb)
                issues.extend(found)
                if not found and action.override.tests is not None:
                    tests.append(TestSource(action.override.id, action.override.tests, path, doc.start_line,
                                            doc, ("override", "tests")))
            else:
                issues.extend(apply_directive(action, doc, path, layer.name, rules))
    return RuleSet(rules=rules, layers=layers, knowledge=kb, tests=tests, modules=modules), issues


def load_ruleset(rules_dirs: list[str | Path] | None = None, env: dict[str, str] | None = None,
                 include_shipped: bool = True, layers: list[Layer] | None = None) -> RuleSet:
    """Load every layer. Raises RuleLoadError listing every problem found (not just the first)."""
    layers = layers if layers is not None else layers_for(rules_dirs, env, include_shipped)
    ruleset, issues = build_ruleset(layers)
    if issues:
        raise RuleLoadError(issues)
    return ruleset


def layers_to_check(paths: list[Path], rules_dirs: list[Path] | None = None) -> list[Layer]:
    """Layers for `rules validate|test PATH... --rules-dir DIR...`: the shipped rules, the
    `--rules-dir` layers, then each PATH, in that order (the order a run would load them), so
    a PATH's overrides and directives resolve against what comes before it."""
    shipped = rules_dir().resolve()
    given = [Path(p) for p in [*(rules_dirs or []), *paths]]
    layers = [] if any(p.resolve() == shipped for p in given) else [Layer("shipped", rules_dir())]
    layers += [Layer(f"--rules-dir {d}", Path(d)) for d in rules_dirs or []]
    layers += [Layer(str(p), Path(p)) for p in paths]
    return layers


def validate_paths(paths: list[Path], rules_dirs: list[Path] | None = None,
                   manifest_path: Path | None = None) -> tuple[int, list[Issue]]:
    """Validate rule files/folders in load order (for `rules validate`). Returns (rules ok, issues).

    Besides everything a load checks, the tests written in `paths` are checked: trace paths
    must exist, manifest selectors must match a fixture, inline features must name real fields.
    """
    from diagnose.rules.testcheck import check_test_sources
    from diagnose.rules.testing import find_manifest

    ruleset, issues = build_ruleset(layers_to_check(paths, rules_dirs))
    ok = sum(1 for lr in ruleset.rules.values() if _in_paths(lr.path, paths))
    issues.extend(check_test_sources(tests_under(ruleset, paths), ruleset, find_manifest(manifest_path)))
    return ok, issues


def _in_paths(path: Path, paths: list[Path]) -> bool:
    rp = path.resolve()
    return any(rp == p.resolve() or p.resolve() in rp.parents for p in paths)


def tests_under(ruleset: RuleSet, paths: list[Path]) -> list[TestSource]:
    return [t for t in ruleset.tests if _in_paths(t.path, paths)]
