#!/usr/bin/env python3
"""Parse every recipe of a BitBake layer with BitBake's own parser and report what it gives.

Usage: bitbake_check.py LAYER SCENARIOS_JSON

BitBake comes from PyPI (`pip install bitbake-setup`, which ships BitBake's `bb` library).
ISAR itself is not installed here, so its classes (`image`, `dpkg-raw`, `base`) are empty
stand-ins: the recipes' own statements, includes and anonymous Python run for real.

SCENARIOS_JSON is a list of {"recipe": "<path relative to LAYER>", "vars": {...},
"run": ["<python task>", ...], "show": ["VAR", "VAR[flag]", ...]}. For each scenario the recipe is parsed with
the given variables set (as a kas local.conf would), the named Python tasks are executed, and
the report has the expanded values of `show`, or how parsing ended: `skipped` with BitBake's
reason, or `error` with the message BitBake logged. Prints the report as JSON on stdout.
"""
import json
import logging
import os
import sys
import tempfile
import types

# BitBake's hash equivalence client is not part of the `bb` package and not needed to parse.
for name in ("hashserv", "hashserv.client"):
    sys.modules.setdefault(name, types.ModuleType(name))

import bb  # noqa: E402
import bb.build  # noqa: E402
import bb.data  # noqa: E402
import bb.parse  # noqa: E402
import bb.utils  # noqa: E402

ISAR_CLASSES = ("base", "image", "dpkg-raw")


class Messages(logging.Handler):
    """Collects what BitBake logs at error level and above (bb.fatal, bb.error)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def datastore(classes_dir, workdir, variables):
    d = bb.data.init()
    d.setVar("BBPATH", classes_dir)
    d.setVar("__bbclasstype", "recipe")
    # What BitBake's and ISAR's configuration give every recipe.
    d.setVar("THISDIR", '${@os.path.dirname(d.getVar("FILE", True))}')
    d.setVar("FILE_DIRNAME", "${THISDIR}")
    d.setVar("WORKDIR", workdir)
    d.setVar("T", os.path.join(workdir, "temp"))
    d.setVar("D", os.path.join(workdir, "image"))
    d.setVar("DISTRO", "debian-trixie")
    d.setVar("DISTRO_ARCH", "amd64")
    d.setVar("MACHINE_SERIAL", "ttyS0")
    d.setVar("BAUDRATE_TTY", "115200")
    for key, value in variables.items():
        d.setVar(key, value)
    return d


def run(layer, scenario, classes_dir, messages):
    workdir = tempfile.mkdtemp(prefix="n3x-bb-")
    os.makedirs(os.path.join(workdir, "temp"))
    d = datastore(classes_dir, workdir, scenario.get("vars", {}))
    bb.parse.init_parser(d)
    messages.lines.clear()
    recipe = os.path.abspath(os.path.join(layer, scenario["recipe"]))
    try:
        parsed = bb.parse.handle(recipe, d)[""]
        for task in scenario.get("run", []):
            bb.build.exec_func(task, parsed)
    except bb.parse.SkipRecipe as e:
        return {"skipped": str(e)}
    except Exception as e:  # BitBake reports through its logger, then raises
        return {"error": "\n".join(messages.lines) or f"{type(e).__name__}: {e}"}
    skipped = parsed.getVar("__SKIPPED")
    if skipped:
        return {"skipped": skipped}
    return {"vars": {v: value(parsed, v) for v in scenario.get("show", [])}}


def value(d, name):
    """A variable's expanded value; `VAR[flag]` reads a flag (`SRC_URI[amd64.sha256sum]`)."""
    if name.endswith("]") and "[" in name:
        var, flag = name[:-1].split("[", 1)
        return d.getVarFlag(var, flag)
    return d.getVar(name)


def main(layer, scenarios_file):
    with open(scenarios_file, encoding="utf-8") as f:
        scenarios = json.load(f)
    classes_dir = tempfile.mkdtemp(prefix="n3x-isar-classes-")
    os.makedirs(os.path.join(classes_dir, "classes"))
    for name in ISAR_CLASSES:
        with open(os.path.join(classes_dir, "classes", f"{name}.bbclass"), "w") as f:
            f.write(f"# stand-in for ISAR's {name}.bbclass\n")
    messages = Messages()
    logging.getLogger("BitBake").addHandler(messages)
    logging.getLogger("BitBake").propagate = False
    report = [run(layer, s, classes_dir, messages) for s in scenarios]
    json.dump(report, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
