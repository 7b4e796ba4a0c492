"""The provider and every algorithm as QGIS sees them: registration and QGIS's own style rules."""

from __future__ import annotations

import pytest
from conftest import require

require("qgis.core")


@pytest.fixture(scope="module")
def provider(qgis_app):
    from qgis.core import QgsApplication

    found = QgsApplication.processingRegistry().providerById("speckle2void")
    assert found is not None
    return found


def test_provider_is_registered_with_name_and_icon(provider):
    assert provider.name() == "Speckle2Void"
    assert not provider.icon().isNull()


def declared_algorithms():
    """The provider's one list of (module, class), imported from the plugin QGIS loaded."""
    import importlib

    return importlib.import_module("speckle2void.processing_provider.provider").ALGORITHMS


def test_every_declared_algorithm_is_registered(provider):
    """The provider logs and skips an algorithm that fails to load: none may be missing."""
    import importlib

    expected = set()
    for module_name, class_name in declared_algorithms():
        module = importlib.import_module(f"speckle2void.processing_provider.{module_name}")
        expected.add(f"speckle2void:{getattr(module, class_name)().name()}")
    registered = {algorithm.id() for algorithm in provider.algorithms()}
    assert registered == expected
    assert len(registered) == len(declared_algorithms())


def test_every_algorithm_module_is_declared(qgis_app):
    """A new ``*_algorithm.py`` must be added to the provider's list (and so to these tests)."""
    from conftest import ROOT

    modules = {path.stem for path in (ROOT / "processing_provider").glob("*_algorithm.py")}
    assert modules == {module_name for module_name, _ in declared_algorithms()}


def test_algorithms_follow_qgis_help_and_description_rules(provider):
    """The checks QGIS runs on its own algorithms (GenericAlgorithmsTest.check_algorithm)."""
    for algorithm in provider.algorithms():
        name = algorithm.id()
        assert algorithm.helpUrl(), name
        assert algorithm.tags(), f"{name} has no tags"
        assert algorithm.shortHelpString(), f"{name} has no shortHelpString"
        description = algorithm.shortDescription()
        assert description, f"{name} has no shortDescription"
        assert description[0].isupper(), name
        assert description.endswith("."), name
        assert not description.lower().startswith("this algorithm"), name
        assert description.split(" ")[0].lower().endswith("s"), f"{name}: start with a verb in -s"
        assert "</" not in description, name
        assert algorithm.displayName() and algorithm.group() and algorithm.groupId(), name
        assert not algorithm.icon().isNull(), name


def test_parameter_keys_are_upper_snake_case(provider):
    import re

    for algorithm in provider.algorithms():
        for parameter in algorithm.parameterDefinitions():
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*", parameter.name()), (
                algorithm.id(),
                parameter.name(),
            )
        for output in algorithm.outputDefinitions():
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*", output.name()), (algorithm.id(), output.name())


def test_every_algorithm_can_be_created_again(provider):
    for algorithm in provider.algorithms():
        copy = algorithm.create()
        assert copy.id() == algorithm.id()
