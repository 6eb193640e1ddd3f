"""Sphinx configuration of kolit's offline documentation site.

`scripts/build_docs.py` copies this file into the generated Sphinx source folder (next to the
bridged notebooks and `_static/`), so every path here is relative to that folder. Nothing on a built
page is fetched from another host: MathJax and plotly.js are served from `_static/`.
"""
import configparser
import os
from pathlib import Path

_ini = configparser.ConfigParser()
_ini.read(Path(os.environ.get("KOLIT_ROOT", Path(__file__).parent)) / "settings.ini")  # set by build_docs.py
_cfg = _ini["DEFAULT"]

project = _cfg.get("lib_name", "kolit")
author = _cfg.get("author", "kolit developers")
copyright = _cfg.get("copyright", author)
release = version = _cfg.get("version", "")

extensions = ["myst_nb"]  # brings myst_parser; HTML math goes through sphinx.ext.mathjax
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# Notebooks are executed by build_docs.py (nbdev-style, honouring #| slow / notest / eval: false);
# Sphinx only renders what they carry.
nb_execution_mode = "off"
nb_output_stderr = "remove"  # warnings and progress bars are noise on a docs page
nb_merge_streams = True
nb_render_markdown_format = "myst"  # text/markdown outputs (BERTable tables, math) as MyST, not bare CommonMark
nb_ipywidgets_js = {}  # the default loads require.js and the widget manager from CDNs
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]  # chapters may start at ## after the title

# Math: MathJax 3 from _static (fetched once with `npm pack mathjax@3`, cached by build_docs.py).
mathjax_path = "mathjax/tex-mml-chtml.js"

html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["_static"]
html_css_files = ["kolit.css"]
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "navigation_with_keys": False,
}

PLOTLY_JS = "plotly.min.js"  # copied into _static from plotly's package data by build_docs.py


def _plotly_on_pages_with_charts(app, pagename, templatename, context, doctree):
    "Load the one local plotly.js only on pages that draw a chart (it is 4.8 MB)."
    if "plotly-graph-div" in context.get("body", ""):
        app.add_js_file(PLOTLY_JS)  # plain <script> in <head>: defined before the figures' inline scripts


def setup(app):
    app.connect("html-page-context", _plotly_on_pages_with_charts)
