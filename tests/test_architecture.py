"""The shape of the code, kept by a test (docs/architecture.md, "Apps and sub-packages"): imports go one way,
activity_log → funnel → reps, and no sub-package (funnel/<sub>/, activity_log/<sub>/) imports another's views.

Imports are read with `ast` from every module of the three apps, absolute and relative, at the top of a
module or inside a function alike (a lazy import is still a dependency). The checker is tested on small
synthetic sources first, so a checker that finds nothing cannot pass for a clean tree."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("reps", "funnel", "activity_log")
# What each app may not import: activity_log → funnel → reps, never back.
FORBIDDEN = {"reps": ("funnel", "activity_log"), "funnel": ("activity_log",), "activity_log": ()}


def imported_modules(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """The absolute names `module`'s source imports; for `from x import y`, both x and x.y (y may be a module)."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                stem = ".".join([*base, node.module] if node.module else base)
            else:
                stem = node.module
            found.add(stem)
            found.update(f"{stem}.{alias.name}" for alias in node.names if alias.name != "*")
    return found


# Entry points, like the apps' own urls.py: nothing imports them, so they may reach any sub-package's views
# (the bench_* commands time the pages they serve).
ENTRY_POINTS = {"management"}


def _sub_package(parts: list[str]) -> str | None:
    """funnel.health.digest → "health"; funnel.views, funnel.tasks → None (the app's own top level)."""
    return parts[1] if len(parts) > 2 else None


def _is_views(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return last == "views" or last.endswith("_views")


def _foreign_views(name: str, app: str, sub: str | None) -> bool:
    """A views module of an app's sub-package (or top level) other than the importer's own sub-package."""
    target = name.split(".")
    if sub in (None, *ENTRY_POINTS) or target[0] not in APPS or not _is_views(name):
        return False
    return (target[0], _sub_package(target)) != (app, sub)


def violations(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """What `module` (a dotted name inside one of APPS) imports against the shape."""
    parts = module.split(".")
    app, sub = parts[0], _sub_package(parts if not is_package else [*parts, "__init__"])
    found = []
    for name in sorted(imported_modules(source, module, is_package=is_package)):
        target = name.split(".")
        if target[0] in FORBIDDEN.get(app, ()):
            found.append(f"{module} imports {name}: {app} may not import {target[0]}")
        elif _foreign_views(name, app, sub):
            found.append(f"{module} imports {name}: a sub-package imports only its own views")
    return found


def project_modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).with_suffix("")
            if "migrations" in relative.parts:
                continue
            is_package = relative.name == "__init__"
            parts = relative.parts[:-1] if is_package else relative.parts
            yield path, ".".join(parts), is_package


# --- the checker itself, on synthetic sources --------------------------------------------------------------


@pytest.mark.parametrize(
    "module,source",
    [
        ("funnel.opportunities.services", "import activity_log.models"),
        ("funnel.opportunities.services", "from activity_log.services import plan_propose"),
        ("funnel.health.diagnoses", "def f():\n    from activity_log import health\n"),
        ("reps.services", "from funnel.models import Opportunity"),
        ("reps.views", "import activity_log"),
        ("funnel.insights.views", "from ..health.views import subject_url"),
        ("funnel.insights.views", "from ..health import views"),
        ("funnel.insights.figures", "import funnel.health.views"),
        ("funnel.insights.figures", "from funnel.views import home"),
        ("funnel.insights.figures", "from ..opportunities.board_views import board"),
        ("activity_log.review.views", "from ..kinds.views import kind_list"),
        ("activity_log.review.selectors", "from funnel.opportunities.views import opportunity_list"),
        ("activity_log.templatetags.offline", "from ..offline.views import user_key"),
    ],
)
def test_the_checker_finds_a_wrong_import(module, source):
    assert violations(source, module)


def test_the_checker_resolves_relative_imports_from_a_package_init():
    assert violations("from ..health import views", "funnel.insights", is_package=True)
    assert not violations("from . import views", "funnel.insights", is_package=True)


@pytest.mark.parametrize(
    "module,source",
    [
        ("funnel.health.urls", "from . import views"),
        ("funnel.health.views", "from .links import subject_url"),
        ("funnel.insights.views", "from ..health.links import subject_url"),
        ("funnel.insights.views", "from ..health import diagnoses, links"),
        ("funnel.urls", "from . import views"),
        ("funnel.opportunities.views", "from django.views.decorators.http import require_POST"),
        ("activity_log.views", "from funnel.models import Opportunity\nfrom reps.access import require_role"),
        ("activity_log.review.urls", "from . import views"),
        ("reps.views", "from config.messages import saved"),
        ("funnel.management.commands.bench_alerts", "from funnel.health.views import AlertFilterForm"),
    ],
)
def test_the_checker_lets_a_right_import_pass(module, source):
    assert violations(source, module) == []


def test_the_checker_sees_every_app_module():
    modules = {module for _path, module, _package in project_modules()}
    assert {"funnel.health.views", "funnel.models", "activity_log.review.views", "reps.access"} <= modules
    assert not any(".migrations." in module for module in modules)


# --- the project ---------------------------------------------------------------------------------------------


def test_imports_go_one_way_and_sub_packages_keep_to_their_own_views():
    found = [
        problem
        for path, module, is_package in project_modules()
        for problem in violations(path.read_text(encoding="utf-8"), module, is_package=is_package)
    ]
    assert found == []
