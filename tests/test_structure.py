"""The structure a newcomer relies on: imports go downward (pipeline → transforms → claimcore / schemas) with no
circle, the core imports no Beam, transforms/ holds only stages, no module hides an import of the project's own
code inside a function without saying why, and docs/architecture.md's module table lists the modules on disk."""
import ast
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("pipeline", "transforms", "claimcore", "schemas", "models", "training")
# who may import whom (a package always imports itself); training sits beside pipeline, on the core
MAY_IMPORT = {
    "pipeline": {"transforms", "claimcore", "schemas", "models"},
    "transforms": {"claimcore", "schemas", "models"},
    "claimcore": {"schemas", "models"},
    "schemas": set(),
    "models": set(),
    "training": {"claimcore", "schemas", "models"},
}


def modules() -> dict[str, str]:
    """{dotted module name: path} of every Python module of the packages."""
    out = {}
    for package in PACKAGES:
        for name in sorted(os.listdir(os.path.join(ROOT, package))):
            if name.endswith(".py"):
                dotted = package if name == "__init__.py" else f"{package}.{name[:-3]}"
                out[dotted] = os.path.join(ROOT, package, name)
    return out


def project_imports(path: str):
    """(imported module, line number, inside a function?) for each import of a project module."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                if isinstance(child, ast.ImportFrom):
                    names = [child.module] if child.level == 0 and child.module else []
                    # "from pipeline import commands" imports a module
                    names += [f"{child.module}.{a.name}" for a in child.names if child.module in PACKAGES]
                else:
                    names = [a.name for a in child.names]
                for name in names:
                    if name.split(".")[0] in PACKAGES:
                        found.append((name, child.lineno, in_function))
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    visit(tree, False)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    edges = {m: set() for m in mods}
    for m, path in mods.items():
        for name, _, _ in project_imports(path):
            target = name if name in mods else name.rsplit(".", 1)[0]
            if target in mods and target != m:
                edges[m].add(target)
    return edges


def test_the_import_graph_has_no_circle():
    edges = graph()
    state, circles = {}, []

    def walk(node, path):
        state[node] = "open"
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                circles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                walk(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            walk(node, [node])
    assert circles == []


def test_imports_go_downward():
    wrong = [(m, target) for m, targets in graph().items() for target in targets
             if target.split(".")[0] != m.split(".")[0] and target.split(".")[0] not in MAY_IMPORT[m.split(".")[0]]]
    assert wrong == []


def test_the_core_imports_no_beam():
    core = sorted(m for m in modules() if m.startswith("claimcore."))
    code = "import sys\n" + "".join(f"import {m}\n" for m in core) + \
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('apache_beam', 'transforms', 'pipeline')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_transforms_holds_only_stages():
    """Every module of transforms/ defines a Beam PTransform (a stage); Beam-free code lives in claimcore/."""
    without = []
    for m, path in modules().items():
        if not m.startswith("transforms."):
            continue
        tree = ast.parse(open(path, encoding="utf-8").read())
        bases = {ast.unparse(b) for node in tree.body if isinstance(node, ast.ClassDef) for b in node.bases}
        if not bases & {"beam.PTransform", "PTransform"}:
            without.append(m)
    assert without == []


def test_no_hidden_import_of_the_projects_own_modules():
    """An import of a project module inside a function needs a comment right above it saying why (the one today:
    the CLI sets the environment Beam and transformers read before it imports the commands)."""
    hidden = []
    for m, path in modules().items():
        lines = open(path, encoding="utf-8").read().splitlines()
        for name, line, in_function in project_imports(path):
            if in_function and not lines[line - 2].strip().startswith("#"):
                hidden.append(f"{m}:{line} imports {name}")
    assert hidden == []


def test_the_architecture_module_table_lists_the_modules_on_disk():
    text = open(os.path.join(ROOT, "docs", "architecture.md"), encoding="utf-8").read()
    section = text.split("## Modules", 1)[1].split("\n## ", 1)[0]
    listed = set()
    for cell in re.findall(r"^\| `([^`]+)`", section, re.M):
        listed.update(p.strip("` ") for p in cell.split(","))
    on_disk = {os.path.relpath(path, ROOT) for m, path in modules().items()
               if not path.endswith(("__init__.py", "__main__.py"))} | {"models/__init__.py"}
    listed_modules = {p for p in listed if p.endswith(".py")}
    assert sorted(on_disk - listed_modules) == [], "modules missing from docs/architecture.md"
    assert sorted(listed_modules - on_disk) == [], "docs/architecture.md lists modules that do not exist"
