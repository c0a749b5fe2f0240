"""A Sphinx extension local to this book: the widget JavaScript only on pages with widgets.

The bundled widget manager (``vendor/embed-amd.js``, 4.4 MB) and RequireJS are what render
the precomputed-frame controls offline; a page without a widget (the preface, the
references) has no use for them. Sphinx adds a JavaScript file to one page only when
``add_js_file`` is called from ``html-page-context``.
"""
from __future__ import annotations

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# Order matters: RequireJS, our configuration of it, then the widget manager (an AMD module).
WIDGET_JS = ("vendor/require.js", "flowlib-requirejs.js", "vendor/embed-amd.js")


def _page_context(app, pagename, templatename, context, doctree):
    if WIDGET_VIEW in (context.get("body") or ""):
        for path in WIDGET_JS:
            app.add_js_file(path)


def setup(app):
    app.connect("html-page-context", _page_context)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
