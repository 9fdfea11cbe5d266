"""Packaging beyond pyproject.toml: the suites ship inside the wheel.

The top-level ``suites/`` folder stays the source of truth; it is mapped onto the package
``gmbench._suites`` so that a built wheel (and an installed package) carries every suite YAML,
and ``gmbench run --suite smoke`` works outside a checkout (gmbench.config.suite.find_suite looks in
the checkout's suites/ first, then in the installed package data).
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["gmbench", "gmbench.*"]) + ["gmbench._suites"],
    package_dir={"gmbench._suites": "suites"},
    package_data={"gmbench._suites": ["*.yaml"]},
)
