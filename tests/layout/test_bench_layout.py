"""``bench/`` keeps its entry points at the top, each named in ``bench/README.md``.

A stranger finds what to run by reading that README: every module at the top of ``bench/``
must be a command it names, and every module of ``bench/children/`` a process that some
benchmark really starts by that module path, so a move that forgets a caller fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
MAIN = 'if __name__ == "__main__":'


def _modules(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.py") if p.name != "__init__.py")


def test_the_top_of_bench_holds_only_the_entry_points_its_readme_names():
    readme = (BENCH / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"^\| `bench\.([a-z_]+)` \|", readme, re.M))
    top = _modules(BENCH)
    assert named == set(top)
    assert [m for m in top if MAIN not in (BENCH / f"{m}.py").read_text(encoding="utf-8")] == []


def test_every_child_is_started_by_its_module_path():
    sources = "\n".join(p.read_text(encoding="utf-8") for p in BENCH.rglob("*.py"))
    children = _modules(BENCH / "children")
    assert children
    for name in children:
        text = (BENCH / "children" / f"{name}.py").read_text(encoding="utf-8")
        assert MAIN in text, name
        assert f'"bench.children.{name}"' in sources, name
