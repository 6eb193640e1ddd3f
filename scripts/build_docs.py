#!/usr/bin/env python
"""Build kolit's documentation site, viewable offline, without Quarto.

`make docs` runs `python scripts/build_docs.py --out _docs`. The steps:

1. **Pages**: `index.ipynb` (the home page), then `nbs/*.ipynb` in name order.
2. **Execute** each notebook the way `nbdev_test` does (execnb's `CaptureShell`, working directory
   `nbs/`, skipping `#| eval: false`, `nbdev_export()` and cells flagged with settings.ini's
   `tst_flags`, e.g. `#| slow`: those keep the outputs they were committed with), then **process**
   it with nbdev's own doc processors (`FilterDefaults`: hides `#| hide` cells, adds `show_doc`
   for exported names), which is what `nbdev.serve.proc_nbs` runs, with one change: show_doc is
   rendered in the shell that ran the notebook (nbdev would re-run the exported cells and every cell
   containing an import in a fresh shell, which fails on cells that mix an import with code that
   uses earlier variables). Result: `_proc/<name>.ipynb`.
   Each notebook runs in a fresh process (at most `--jobs`, default 2, at a time), and the result is
   reused while the notebook, the `kolit/` sources, settings.ini and the tool versions are unchanged.
   `--execute PAGE...` executes only those pages; the others run just what nbdev's doc processing
   runs (exported cells, imports, show_doc) and keep their committed outputs (tests/test_docs.py).
3. **MathJax 3** is copied from a cache, `docs_build/mathjax/` (git-ignored, kept by `make clean`);
   the first build fills it with `npm pack mathjax@3`.
4. **Bridge** `_proc/` to a Sphinx source folder (`_proc/_sphinx/src/`): nbdev's YAML front matter back to
   `# Title` / `> description`, `show_doc` outputs (`#| output: asis`) to markdown API blocks,
   `#| echo: false` to myst-nb's `remove-input`, plotly figures to plain HTML that uses the one
   local `_static/plotly.min.js` (inline plotly.js bundles and CDN MathJax tags are dropped),
   widget metadata dropped, cell ids added, and a toctree on the home page.
5. **Sphinx** (myst-nb, sphinx-book-theme, `docs/conf.py`) writes the site to `--out`.
6. **Check** that no page loads a script or stylesheet from another host.
"""
import argparse
import ast
import concurrent.futures as cf
import configparser
import hashlib
import html
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE_VERSION = "5"  # bump to invalidate every cached executed notebook
MATHJAX_SPEC = "mathjax@3"
# The parts of MathJax's es5 build a page can load: the combined component, then what it loads lazily.
MATHJAX_KEEP = ("tex-mml-chtml.js", "output/chtml/fonts/", "input/tex/extensions/", "input/mml/",
                "ui/", "a11y/", "sre/")


def log(msg):
    print(f"[docs] {msg}", flush=True)


def read_settings(root=ROOT):
    ini = configparser.ConfigParser()
    ini.read(root / "settings.ini")
    return ini["DEFAULT"]


def notebook_pages(root=ROOT):
    "The site's notebooks, home page first: [(page name, path)]."
    cfg = read_settings(root)
    nbs = root / cfg.get("nbs_path", "nbs")
    index = root / "index.ipynb"
    pages = [("index", index)] if index.exists() else []
    for p in sorted(nbs.glob("*.ipynb")):
        if p.name.startswith(("_", ".")) or p.stem == "index" or (index.exists() and p.resolve() == index.resolve()):
            continue
        pages.append((p.stem, p))
    if not pages: raise SystemExit(f"no notebooks found in {root} or {nbs}")
    return pages


# ---------------------------------------------------------------------------------------------
# 2. execute + nbdev processing (in worker processes)

def _cache_key(nb_path, root, skip_flags):
    import execnb, nbdev, plotly
    h = hashlib.sha256()
    h.update(f"{CACHE_VERSION}|{nbdev.__version__}|{execnb.__version__}|{plotly.__version__}|{sorted(skip_flags)}".encode())
    h.update(Path(nb_path).read_bytes())
    h.update((root / "settings.ini").read_bytes())
    lib = root / read_settings(root).get("lib_path", "kolit")
    for p in sorted(lib.rglob("*.py")):
        h.update(str(p.relative_to(root)).encode()); h.update(p.read_bytes())
    return h.hexdigest()


def _filter_in_shell(shell):
    "nbdev's doc processors (`FilterDefaults`), with `exec_show_docs` rendering show_doc in `shell`."
    from fastcore.basics import str2bool
    from nbdev.processors import FilterDefaults, _is_showdoc, exec_show_docs

    class exec_show_docs_in_shell(exec_show_docs):
        """nbdev's `exec_show_docs` re-runs the exported cells and every cell with an import in a fresh shell,
        then the show_doc cells; `shell` has already run the whole notebook, so only show_doc cells run here."""
        def begin(self):
            self.k = shell
            self.k.run_cell("from nbdev.showdoc import show_doc")

        def __call__(self, cell):
            if not self.nb.has_docs_ or cell.cell_type != "code" or not _is_showdoc(cell): return
            if str2bool(getattr(self.nb, "frontmatter_", {}).get("skip_showdoc", False)): return
            self.k.cell(cell)
            if self.k.exc: raise RuntimeError(f"show_doc failed in cell {cell.idx_}:\n{cell.source}") from self.k.exc

        def end(self): pass  # widget state is dropped by the bridge anyway

    exec_show_docs_in_shell.__name__ = "exec_show_docs"  # so that settings.ini's skip_procs still applies

    class FilterInShell(FilterDefaults):
        def base_procs(self):
            return [exec_show_docs_in_shell if p is exec_show_docs else p for p in super().base_procs()]

    # nbdev's add_show_docs inserts each name's show_doc cell right after its cell, so a cell defining
    # f, g, h is documented h, g, f: hand it the names reversed, so that the page follows the source.
    # (This runs in a worker process of its own, one notebook per process.)
    import nbdev.processors as procs
    if not getattr(procs._def_names, "_kolit_reversed", False):
        _def_names = procs._def_names
        procs._def_names = lambda cell, shown: _def_names(cell, shown)[::-1]
        procs._def_names._kolit_reversed = True
    return FilterInShell()


def execute_and_process(job):
    "Worker: run one notebook like nbdev_test, then nbdev's doc processors; write the result to `dst`."
    main = sys.modules["__main__"]  # IPython's shell installs its own __main__; the pool's next task needs ours
    try: return _execute_and_process(job)
    finally: sys.modules["__main__"] = main


def _execute_and_process(job):
    src, dst, root, skip_flags, threads, full = job
    src, dst, root = Path(src), Path(dst), Path(root)
    if threads: os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    os.environ["IN_TEST"] = "1"  # as under nbdev_test (and nbdev's doc processing)
    if str(root) not in sys.path: sys.path.insert(0, str(root))
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    from fastcore.xtras import working_directory
    from nbdev.process import extract_directives

    t0 = time.time()
    nb = read_nb(src)  # nb.path_ = src: nbdev derives the front matter's `output-file` (core.html) from it
    flags = set(skip_flags)

    def skip(cell):  # nbdev.test.test_nb's rule
        if cell.cell_type != "code": return True
        if "nbdev_export" + "(" in cell.source: return True
        d = extract_directives(cell, remove=False)
        if d.get("eval:", [""])[0].lower() == "false": return True
        return bool(flags & d.keys())

    def needed_for_docs(cell):  # the cells nbdev's doc processing runs (nbdev.processors._do_eval)
        if cell.cell_type != "code" or "nbdev_export" + "(" in cell.source: return False
        d = extract_directives(cell, remove=False)
        if d.get("eval:", [""])[0].lower() == "false": return False
        if d.keys() & {"export", "exports", "exporti", "exec_doc"}: return True
        try: tree = ast.parse(shell.transform_cell(cell.source))
        except SyntaxError: return False
        return any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree))

    shell = CaptureShell(src)
    nbs_dir = root / read_settings(root).get("nbs_path", "nbs")
    with working_directory(nbs_dir if nbs_dir.is_dir() else src.parent):
        if full:
            try:
                shell.run_all(nb, exc_stop=True, preproc=skip)
            except Exception:
                raise RuntimeError(f"executing {src.name} failed:\n{shell.prettytb(fname=src)}") from None
        else:  # --execute left this page out: define what show_doc needs, keep the committed outputs
            for cell in nb.cells:
                if needed_for_docs(cell): shell.run(cell.source)
            shell.exc = None  # a lesson cell that also imports may fail here: nbdev_test is the judge of that
        t1 = time.time()
        try:
            _filter_in_shell(shell)(nb)  # what nbdev.serve.proc_nbs runs (nbdev.serve_drv.exec_nb)
        except Exception as e:
            cause = e.__cause__ or e.__context__
            raise RuntimeError(f"nbdev's doc processing of {src.name} failed: {e}"
                               + (f"\n-> {type(cause).__name__}: {cause}" if cause else "")) from None
    dst.parent.mkdir(parents=True, exist_ok=True)
    write_nb(nb, dst)
    return src.name, t1 - t0, time.time() - t1


def execute_all(pages, proc_dir, root, jobs, use_cache=True, execute=None):
    "Execute and process every page into `proc_dir`; pages not in `execute` (None: all) only as far as show_doc needs."
    cfg = read_settings(root)
    skip_flags = cfg.get("tst_flags", "").split()
    proc_dir.mkdir(parents=True, exist_ok=True)
    todo = []
    for name, path in pages:
        dst, keyf = proc_dir / f"{name}.ipynb", proc_dir / f"{name}.ipynb.key"
        full = execute is None or name in execute
        key = _cache_key(path, root, skip_flags)
        ok = {f"full:{key}"} if full else {f"full:{key}", f"docs-only:{key}"}  # a full run serves both
        if use_cache and dst.exists() and keyf.exists() and keyf.read_text() in ok:
            log(f"{path.name}: unchanged, reusing {dst.relative_to(root) if dst.is_relative_to(root) else dst}")
            continue
        keyf.unlink(missing_ok=True)
        todo.append((name, path, dst, keyf, f"{'full' if full else 'docs-only'}:{key}", full))
    if not todo: return
    full_jobs, light_jobs = [t for t in todo if t[-1]], [t for t in todo if not t[-1]]
    # Fully executed notebooks get a fresh process each (no state leaks from one notebook into the next);
    # docs-only ones share one process (they only define things), beside the others when jobs > 1.
    n_full = max(1, min(len(full_jobs), jobs - (1 if light_jobs and jobs > 1 else 0))) if full_jobs else 0
    threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else 0
    log(f"executing {len(full_jobs)} notebook(s) (skipping cells flagged {' '.join(skip_flags) or '-'})"
        + (f", and what show_doc needs of {len(light_jobs)} more" if light_jobs else "")
        + f", {jobs} process(es) at a time")
    ctx = multiprocessing.get_context("spawn")
    failed = []

    def run(pool_jobs, ex):
        futs = {ex.submit(execute_and_process, (str(path), str(dst), str(root), skip_flags, threads, full)):
                (name, keyf, key, full) for name, path, dst, keyf, key, full in pool_jobs}
        return futs

    with cf.ProcessPoolExecutor(max_workers=max(1, n_full), mp_context=ctx, max_tasks_per_child=1) as ex_full, \
         cf.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as ex_light:
        futs = run(full_jobs, ex_full)
        if jobs == 1 and full_jobs: cf.wait(futs)  # one process at a time
        futs.update(run(light_jobs, ex_light))
        for fut in cf.as_completed(futs):
            name, keyf, key, full = futs[fut]
            try:
                fname, t_exec, t_proc = fut.result()
            except Exception as e:
                failed.append(name); print(str(e), file=sys.stderr, flush=True); continue
            keyf.write_text(key)
            log(f"{fname}: {'executed' if full else 'show_doc needs run'} in {t_exec:.1f} s, processed in {t_proc:.1f} s")
    if failed: raise SystemExit(f"docs build failed: notebook(s) {', '.join(failed)} raised an error (see above)")


# ---------------------------------------------------------------------------------------------
# 3. static assets

def ensure_mathjax(cache_dir):
    "MathJax 3's es5 build (the parts pages load), fetched once with `npm pack`, then from the cache."
    dest = cache_dir / "mathjax"
    if (dest / ".complete").exists(): return dest
    npm = shutil.which("npm")
    if not npm:
        raise SystemExit(f"MathJax is not cached in {dest} and npm is not installed: install node/npm once "
                         "(apt-get install npm), or copy MathJax 3's es5/ folder there")
    log(f"fetching MathJax once: npm pack {MATHJAX_SPEC} (cached in {dest})")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", MATHJAX_SPEC, "--silent"], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        (tgz,) = Path(tmp).glob("mathjax-*.tgz")
        shutil.rmtree(dest, ignore_errors=True)
        with tarfile.open(tgz) as tar:
            for m in tar.getmembers():
                rel = m.name.removeprefix("package/es5/")
                if rel == m.name or not m.isfile() or not rel.startswith(MATHJAX_KEEP): continue
                out = dest / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(tar.extractfile(m).read())
        (dest / ".complete").write_text(tgz.name + "\n")
    return dest


def plotly_js():
    import plotly
    p = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not p.exists(): raise SystemExit(f"plotly.min.js not found in plotly's package data ({p})")
    return p


# ---------------------------------------------------------------------------------------------
# 4. the bridge from nbdev's _proc/ notebooks to myst-nb

_re_directive = re.compile(r"^\s*#\s*\|\s*(.*?)\s*$")
_re_script_src = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*</script>", re.I)
_re_mathjax2_cfg = re.compile(r"<script[^>]*>\s*if \(window\.MathJax && window\.MathJax\.Hub.*?</script>", re.S)
_re_any_script = re.compile(r"<script\b.*?</script>", re.S | re.I)
PLOTLY_JSON = "application/vnd.plotly.v1+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _src(x): return "".join(x) if isinstance(x, list) else (x or "")


def split_directives(source):
    "nbdev/Quarto `#| key: value` lines at the top of a code cell -> ({key: value}, remaining source)."
    lines, dirs = source.splitlines(), {}
    i = 0
    while i < len(lines) and (m := _re_directive.match(lines[i])):
        text = m.group(1)
        k, _, v = text.partition(":") if ":" in text else text.partition(" ")  # `echo: false` or `hide`
        dirs[k.strip()] = v.strip()
        i += 1
    return dirs, "\n".join(lines[i:]).strip("\n")


def _is_plotly_bundle(h):
    "An output that only carries plotly.js itself (plotly's notebook renderer emits it with the first figure)."
    return len(h) > 100_000 and not _re_any_script.sub("", h).strip() and "plotly" in h[:5000].lower()


def clean_outputs(outputs):
    "Outputs for a static page: plotly figures as HTML without plotly.js or CDN scripts, no widget views."
    res = []
    for o in outputs:
        if o.get("output_type") in ("display_data", "execute_result"):
            data = dict(o.get("data", {}))
            h = _src(data.get("text/html"))
            if h and _is_plotly_bundle(h): continue
            if PLOTLY_JSON in data:
                fig = data.pop(PLOTLY_JSON)
                if "plotly-graph-div" not in h:
                    import plotly.io as pio
                    h = pio.to_html(fig, include_plotlyjs=False, full_html=False, validate=False, default_height="525px")
            if h:
                h = _re_mathjax2_cfg.sub("", _re_script_src.sub("", h))
                data["text/html"] = h
            if data.pop(WIDGET_VIEW, None) is not None:  # a static page cannot run it: say so, briefly
                kind = re.match(r"\w*", _src(data.get("text/plain"))).group(0) or "widget"
                data = {"text/plain": f"[{kind}: an interactive widget; open the notebook in JupyterLab or Voila to use it]"}
            if not data: continue
            o = {**o, "data": data}
        res.append(o)
    return res


def _code_html(text):
    return re.sub(r"`([^`]+)`", lambda m: f"<code>{html.escape(m.group(1))}</code>", html.escape(text, quote=False))


_re_attr_link = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)\{([^}]*)\}")


def _attr_link(m):
    "Pandoc's [text](url){target=... style=...} (show_doc's source link) -> an HTML link MyST keeps."
    text, url, attrs = m.groups()
    target = re.search(r"target\s*=\s*[\"'\u201d\u201c]?([\w-]+)", attrs)
    cls = ' class="kolit-source"' if text.strip() == "source" else ""
    tgt = f' target="{target.group(1)}" rel="noopener"' if target else ""
    return f'<a href="{html.escape(url)}"{cls}{tgt}>{_code_html(text)}</a>'


_re_fence = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*?)\n(.*?)^ {0,3}\2[`~]*[ \t]*$", re.M | re.S)
_re_code_link = re.compile(r"\[(`[^`\]]+`)\]\([^)\s]+\)")


def rewrite_doc_links(md, doc_url, pages_by_file):
    "nbdev links into the (Quarto) site, e.g. https://kolit.github.io/kolit/core.html#bpsk, -> the local page."
    pat = re.compile(r"\[([^\]]+)\]\(" + re.escape(doc_url.rstrip("/")) + r"/([\w.\-]+\.html)(#[^)\s]*)?\)") if doc_url else None

    def sub(m):
        page = pages_by_file.get(m.group(2))
        if page is None: return m.group(1)  # a page this build leaves out (--only): keep the name, drop the link
        return f'<a href="{page}.html{m.group(3) or ""}">{_code_html(m.group(1))}</a>'

    def prose(text):
        text = _re_attr_link.sub(_attr_link, text)
        return pat.sub(sub, text) if pat else text

    # nbdev links names line by line, also inside code fences (show_doc signatures): unlink those.
    out, pos = [], 0
    for m in _re_fence.finditer(md):
        out.append(prose(md[pos:m.start()]))
        if m.group(3).strip().startswith("{"):  # a MyST directive: its body is markdown
            body = rewrite_doc_links(m.group(4), doc_url, pages_by_file)
            out.append(m.group(0)[:m.start(4) - m.start()] + body + m.group(0)[m.end(4) - m.start():])
        else:
            out.append(_re_code_link.sub(r"\1", m.group(0)))
        pos = m.end()
    return "".join(out + [prose(md[pos:])])


def api_block(md):
    "show_doc's markdown (--- / ### name / signature / docstring) -> an anchored heading and a styled block."
    md = re.sub(r"\A\s*---\s*\n", "", md).strip("\n")
    lines = md.splitlines()
    head = next((i for i, l in enumerate(lines) if re.match(r"#{1,6}\s+\S", l)), None)
    out = []
    if head is not None:
        hashes, name = lines[head].split(None, 1)
        name = name.strip()
        anchor = name.lower()  # nbdev's anchor (kolit/_modidx.py: 'core.html#awgn.__call__')
        from docutils.nodes import make_id
        from myst_parser.slugs import github_slugify  # the heading's own ids: make_id and MyST's slug
        if re.fullmatch(r"[\w.\-]+", anchor) and anchor not in (make_id(name), github_slugify(name)):
            out += [f'<div id="{html.escape(anchor)}"></div>', ""]
        escaped = re.sub(r"([_*])", r"\\\1", name)  # AWGN.__call__ must not become bold "call"
        out += [f"{hashes} {escaped}", ""]
        body = "\n".join(lines[:head] + lines[head + 1:]).strip("\n")
    else:
        body = md
    fence = "`" * max(4, 1 + max((len(r) for r in re.findall(r"`+", body)), default=0))
    out += [f"{fence}{{container}} kolit-api", body, fence]
    return "\n".join(out)


def md_cell(source, cid):
    return {"cell_type": "markdown", "id": cid, "metadata": {}, "source": source}


def front_matter(source):
    "nbdev's raw front-matter cell -> dict, or None."
    m = re.match(r"\A\s*---\s*\n(.*?)\n---\s*\Z", source, re.S)
    if not m: return None
    import yaml
    try: fm = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError: return None
    return fm if isinstance(fm, dict) else None


def bridge_notebook(nb, name, doc_url, pages_by_file):
    "One `_proc/` notebook -> a notebook myst-nb renders as nbdev/Quarto would (see module docstring)."
    cells, out = nb["cells"], []
    title, used = None, set()
    for n, c in enumerate(cells):
        if "source" not in c: continue  # removed by nbdev (#| export, #| hide, default_exp)
        src, cid = _src(c["source"]), c.get("id") or f"kolit-{name}-{n}"
        cid = re.sub(r"[^A-Za-z0-9_-]", "-", cid)[:60]
        if cid in used: cid = f"{cid}-{n}"  # nbformat wants unique ids
        used.add(cid)
        kind = c["cell_type"]
        if kind == "raw":
            fm = front_matter(src) if title is None else None
            if fm is not None:
                title = str(fm.get("title") or name)
                md = f"# {title}"
                if fm.get("description"): md += f"\n\n> {fm['description']}"
                out.append(md_cell(md, cid))
            elif src.strip():
                out.append({"cell_type": "raw", "id": cid, "metadata": c.get("metadata", {}), "source": src})
            continue
        if kind == "markdown":
            if src.strip().startswith("<!-- WARNING: THIS FILE WAS AUTOGENERATED"): continue
            if title is None and re.match(r"#\s", src.lstrip()): title = src.lstrip()[2:].splitlines()[0]
            out.append(md_cell(rewrite_doc_links(src, doc_url, pages_by_file), cid))
            continue
        dirs, body = split_directives(src)
        if dirs.get("include", "").lower() == "false": continue
        outputs = clean_outputs(c.get("outputs", []))
        if dirs.get("output", "").lower() == "asis" or c.get("has_sd"):
            md = "\n\n".join(_src(o["data"].get("text/markdown") or o["data"].get("text/plain"))
                             for o in outputs if "data" in o)
            md = rewrite_doc_links(md, doc_url, pages_by_file)
            if c.get("has_sd") or re.match(r"\s*show_doc\(", body): md = api_block(md)
            if md.strip(): out.append(md_cell(md, cid))
            continue
        tags = list(c.get("metadata", {}).get("tags", []))
        if dirs.get("echo", "").lower() == "false": tags.append("remove-input")
        if dirs.get("output", "").lower() == "false": tags.append("remove-output")
        if not body.strip() and not outputs: continue
        out.append({"cell_type": "code", "id": cid, "metadata": {"tags": tags} if tags else {},
                    "execution_count": c.get("execution_count"), "source": body, "outputs": outputs})
    if title is None: out.insert(0, md_cell(f"# {name}", f"kolit-{name}-title"))
    meta = {k: v for k, v in nb.get("metadata", {}).items() if k not in ("widgets", "jupytext")}
    meta.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
    meta.setdefault("language_info", {"name": "python", "pygments_lexer": "ipython3"})
    return {"cells": out, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


def write_site_source(pages, proc_dir, site_src, mathjax_dir, root):
    cfg = read_settings(root)
    doc_url = (cfg.get("doc_host", "") + cfg.get("doc_baseurl", "")) if cfg.get("doc_host") else ""
    shutil.rmtree(site_src, ignore_errors=True)
    site_src.mkdir(parents=True)
    procs = {name: json.loads((proc_dir / f"{name}.ipynb").read_text()) for name, _ in pages}
    pages_by_file = {}  # nbdev's output file name (core.html) -> our page name (00_core)
    for name, nb in procs.items():
        fm = next((front_matter(_src(c["source"])) for c in nb["cells"] if c["cell_type"] == "raw"), None) or {}
        pages_by_file[str(fm.get("output-file", f"{name}.html"))] = name
        pages_by_file[f"{name}.html"] = name
    if "index" not in procs:  # --only without the home page: Sphinx still needs a root document
        procs = {"index": {"cells": [md_cell(f"# {cfg.get('lib_name', 'kolit')}", "kolit-title")], "metadata": {}},
                 **procs}
    toc = "\n".join(n for n in procs if n != "index")
    for name, nb in procs.items():
        snb = bridge_notebook(nb, name, doc_url, pages_by_file)
        if name == "index":  # the sidebar: every other page, in order
            snb["cells"].append(md_cell(f"```{{toctree}}\n:hidden:\n:maxdepth: 1\n:caption: Notebooks\n\n{toc}\n```",
                                        "kolit-toctree"))
        (site_src / f"{name}.ipynb").write_text(json.dumps(snb, indent=1, ensure_ascii=False))
    shutil.copy2(root / "docs" / "conf.py", site_src / "conf.py")
    static = site_src / "_static"
    shutil.copytree(root / "docs" / "_static", static)
    shutil.copytree(mathjax_dir, static / "mathjax", ignore=shutil.ignore_patterns(".complete"))
    shutil.copy2(plotly_js(), static / "plotly.min.js")


# ---------------------------------------------------------------------------------------------
# 5-6. Sphinx, then the offline check

_re_external = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//[^>]*>", re.I)


def external_assets(site):
    "[(file, tag)] for every <script src> or <link href> that points to another host."
    return [(str(p.relative_to(site)), m.group(0)) for p in sorted(site.rglob("*.html"))
            for m in _re_external.finditer(p.read_text(errors="replace"))]


def run_sphinx(site_src, out, work, root):
    "sphinx-build into `work/html` (myst-nb writes `jupyter_execute/` next to its output folder), then move to `out`."
    if out.exists() and any(out.iterdir()) and not (out / ".buildinfo").exists():
        raise SystemExit(f"{out} exists and is not a Sphinx build; refusing to overwrite it")
    staging = work / "html"
    for d in (staging, work / "doctrees", work / "jupyter_execute"): shutil.rmtree(d, ignore_errors=True)
    env = {**os.environ, "KOLIT_ROOT": str(root)}
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-d", str(work / "doctrees"), str(site_src), str(staging)]
    r = subprocess.run(cmd, env=env, cwd=root)
    if r.returncode: raise SystemExit(f"sphinx-build failed (exit {r.returncode})")
    for empty in ("_sources",):  # html_copy_source = False leaves it empty
        if (staging / empty).is_dir() and not any((staging / empty).iterdir()): (staging / empty).rmdir()
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(staging, out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="_docs", help="site folder (default _docs)")
    ap.add_argument("--proc", default="_proc", help="nbdev-processed notebooks and the Sphinx source (default _proc)")
    ap.add_argument("--cache", default="docs_build", help="download cache for MathJax (default docs_build)")
    ap.add_argument("--jobs", type=int, default=2, help="notebooks executed at once (default 2)")
    ap.add_argument("--no-cache", action="store_true", help="execute every notebook even if unchanged")
    ap.add_argument("--only", nargs="+", metavar="PAGE", help="build only these pages, e.g. index 00_core (for quick checks)")
    ap.add_argument("--execute", nargs="+", metavar="PAGE",
                    help="execute only these pages (default: all); the others get their API docs (nbdev runs their "
                         "exported and import cells for show_doc) and keep the outputs they were committed with")
    a = ap.parse_args(argv)
    root = ROOT
    out, proc, cache = (Path(p) if Path(p).is_absolute() else root / p for p in (a.out, a.proc, a.cache))
    t0 = time.time()
    pages = notebook_pages(root)
    if a.only:
        unknown = set(a.only) - {n for n, _ in pages}
        if unknown: raise SystemExit(f"--only: no such page(s) {sorted(unknown)}; pages are {[n for n, _ in pages]}")
        pages = [(n, p) for n, p in pages if n in a.only]
    if a.execute and (unknown := set(a.execute) - {n for n, _ in pages}):
        raise SystemExit(f"--execute: no such page(s) {sorted(unknown)}; pages are {[n for n, _ in pages]}")
    log(f"{len(pages)} pages: {', '.join(n for n, _ in pages)}")
    execute_all(pages, proc, root, a.jobs, use_cache=not a.no_cache, execute=set(a.execute) if a.execute else None)
    t1 = time.time()
    mathjax = ensure_mathjax(cache)
    write_site_source(pages, proc, proc / "_sphinx" / "src", mathjax, root)
    run_sphinx(proc / "_sphinx" / "src", out, proc / "_sphinx", root)
    bad = external_assets(out)
    if bad:
        raise SystemExit("pages load assets from other hosts:\n" + "\n".join(f"  {f}: {t}" for f, t in bad))
    log(f"site written to {out} (execution {t1 - t0:.1f} s, site {time.time() - t1:.1f} s); "
        f"open {out / 'index.html'} or serve it: python -m http.server -d {out}")


if __name__ == "__main__":
    main()
