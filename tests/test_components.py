"""Versions that change when their output does: each component of claimcore/components.py runs on its fixed inputs
(tests/golden/runners.py) and must give its golden output, whose digest is the one recorded for its current
version. A change of output fails here until tests/golden/regenerate.py has written the new output and the
component has a new version with the new digest."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from golden.runners import RUNNERS, _analyzed, digest, golden_path  # noqa: E402

from claimcore.components import COMPONENTS, stamps  # noqa: E402


def plain(value):
    return json.loads(json.dumps(value, ensure_ascii=False))


@pytest.fixture(scope="module")
def analyzed():
    return _analyzed()  # NER and attribution come from one pass of the encoder


def test_every_component_has_a_golden_runner_and_versions_that_only_grow():
    assert set(COMPONENTS) == set(RUNNERS)
    for c in COMPONENTS.values():
        numbers = [v for v, _, _ in c.versions]
        assert numbers == sorted(set(numbers)), c.name
        assert len({d for _, d, _ in c.versions}) == len(c.versions), f"{c.name}: two versions with one output"
        assert all(note for _, _, note in c.versions), f"{c.name}: every version says what changed"
    assert stamps()["claims"] == f"claims/{COMPONENTS['claims'].version}"


@pytest.mark.parametrize("name", sorted(RUNNERS))
def test_component_output_is_its_versions_output(name, analyzed):
    output = plain(RUNNERS[name](analyzed) if name in ("ner", "attribution") else RUNNERS[name]())
    with open(golden_path(name), encoding="utf-8") as f:
        golden = json.load(f)
    component = COMPONENTS[name]
    fix = f"run `.venv/bin/python tests/golden/regenerate.py {name}`, check the difference, and give {name} a new version"
    assert output == golden["output"], f"{name}'s output differs from tests/golden/{name}.json: {fix}"
    assert digest(output) == component.digest, \
        f"{name}'s output changed without a version bump ({component.stamp} is {component.digest}): {fix}"
