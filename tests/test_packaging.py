"""Every package folder ships: the explicit package list in pyproject.toml misses none."""

from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_listed():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(cfg["packages"])
    mapping = cfg["package-dir"]
    found = set()
    for pkg, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((pkg, *rel)))
    assert found - listed == set(), "add these to [tool.setuptools] packages"


def test_the_test_setup_installs_every_optional_extra_the_tests_use():
    """CI installs ``.[test]`` and then ray: an optional package missing from both turns its
    tests into skips (the Ray engine's did). Each extra's pins must appear in the test extra
    unchanged; ray's, which pip cannot resolve together with DAC, in the README's second pip
    call, which .ci/run runs."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = extras["optional-dependencies"]
    test = set(extras["test"])
    for name in ("s3m", "dac", "eval", "feed", "sklearn", "vocos"):
        missing = [req for req in extras[name] if req not in test]
        assert missing == [], f"[{name}] pins missing from [test]: {missing}"
    (ray,) = extras["ray"]
    readme, ci = (ROOT / "README.md").read_text(), (ROOT / ".ci" / "run").read_text()
    line = f'pip install "{ray}"'
    assert line in readme and line in ci
