"""Both YAML loaders read rule files the same way (diagnose/rules/yamlsrc.py).

Rule files are composed with libyaml's loader when PyYAML has it (most of loading the rule set)
and with the pure-Python loader when it refuses a file (so errors keep PyYAML's wording). The
two must agree on every file that loads: the data, and the line of every path and scalar that
validation messages point at -- checked on every shipped rule file and the team example.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from diagnose.rules.yamlsrc import YamlError, _load_docs, load_docs

REPO = Path(__file__).resolve().parent.parent
FILES = sorted(REPO.glob("rules/*.yaml")) + sorted(REPO.glob("examples/**/*.yaml"))

pytestmark = pytest.mark.skipif(not getattr(yaml, "__with_libyaml__", False), reason="PyYAML built without libyaml")


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_libyaml_and_pure_loaders_agree(path):
    text = path.read_text()
    fast = _load_docs(text, yaml.CSafeLoader)
    pure = _load_docs(text, yaml.SafeLoader)
    assert len(fast) == len(pure) >= 1
    for a, b in zip(fast, pure):
        assert (a.data, a.start_line, a.lines, a.scalars) == (b.data, b.start_line, b.lines, b.scalars)


def test_a_bad_file_keeps_the_pure_loaders_message():
    text = "id: x\nwhen: [1, 2\nseverity: warning\n"
    with pytest.raises(YamlError) as fast_first:
        load_docs(text)
    with pytest.raises(YamlError) as pure:
        _load_docs(text, yaml.SafeLoader)
    assert str(fast_first.value) == str(pure.value)
