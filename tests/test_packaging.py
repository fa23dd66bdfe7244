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
    """CI installs ``.[test]`` in one pip call: an optional package missing from it turns its
    tests into skips (the Ray engine's did). Each extra's requirements must appear in the test
    extra unchanged, ``[all]`` names every user extra, and the README's test command is the
    one pip call CI runs."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = extras["optional-dependencies"]
    test = set(extras["test"])
    users = [name for name in extras if name not in ("test", "all", "gpu")]
    assert {"s3m", "eval", "feed", "sklearn", "vocos", "ray"} <= set(users), users
    for name in users:
        missing = [req for req in extras[name] if req not in test]
        assert missing == [], f"[{name}] requirements missing from [test]: {missing}"
    assert extras["all"] == [f"audiotok[{','.join(users)}]"], extras["all"]
    readme, ci = (ROOT / "README.md").read_text(), (ROOT / ".ci" / "run").read_text()
    command = readme.split("Run the tests", 1)[1].split("```bash\n", 1)[1].split("\n", 1)[0]
    parts = [p.strip() for p in command.split("&&")]
    assert parts[0] == 'pip install -e ".[test]"' and parts[-1] == "python -m pytest -q", command
    for part in parts:  # .ci/run runs each step of the README's command (pip quietly)
        assert part.replace("pip install ", "pip install -q ") in ci, part
