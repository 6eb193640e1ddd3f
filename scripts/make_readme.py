"""Generate README.md from index.ipynb (nbdev_readme needs Quarto, which cannot be installed here).

Runs the notebook in-process (execnb, as nbdev_test does), drops `#| hide` cells and nbdev directives,
and writes markdown cells as they are and code cells with their text outputs.

    .venv/bin/python scripts/make_readme.py            # write README.md
    .venv/bin/python scripts/make_readme.py --check    # exit 1 if README.md is out of date
"""
import argparse
import sys
from pathlib import Path

from execnb.nbio import read_nb
from execnb.shell import CaptureShell

ROOT = Path(__file__).resolve().parents[1]
HEADER = "<!-- Generated from index.ipynb by scripts/make_readme.py: edit the notebook, not this file. -->\n\n"


def _directives(src: str) -> set:
    return {l[3:].strip().split()[0] for l in src.splitlines() if l.startswith("#| ") and l[3:].strip()}


def render(nb_path: Path) -> str:
    nb = read_nb(nb_path)
    CaptureShell(path=nb_path.parent).run_all(nb, exc_stop=True)
    parts = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            parts.append(cell.source.strip())
        elif cell.cell_type == "code":
            if {"hide", "export", "exporti"} & _directives(cell.source): continue
            code = "\n".join(l for l in cell.source.splitlines() if not l.startswith("#| ")).strip()
            if code: parts.append(f"```python\n{code}\n```")
            for out in cell.get("outputs", []):
                text = out.get("text") or out.get("data", {}).get("text/plain")
                if text: parts.append("```\n" + ("".join(text) if isinstance(text, list) else text).rstrip() + "\n```")
    return HEADER + "\n\n".join(p for p in parts if p) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if README.md differs from the notebook")
    args = ap.parse_args()
    text = render(ROOT / "index.ipynb")
    readme = ROOT / "README.md"
    if args.check:
        if not readme.exists() or readme.read_text() != text:
            print("README.md is out of date: run `.venv/bin/python scripts/make_readme.py` and commit it")
            sys.exit(1)
        return
    readme.write_text(text)


if __name__ == "__main__":
    main()
