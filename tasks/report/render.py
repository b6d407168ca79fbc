"""Pages to HTML with Jinja2 (autoescaped): one self-contained file per page.

The Content-Security-Policy forbids every network load (`default-src 'none'`), so a page cannot
reach out even if a future change slipped a URL in: the dashboard works offline by construction,
not by care. Charts and table data are the only markup inserted unescaped; both are escaped where
they are built (tasks/report/svg.py, `Table.payload`).
"""

from __future__ import annotations

from datetime import datetime

from jinja2 import DictLoader, Environment, StrictUndefined
from markupsafe import Markup

from tasks.report.assets import CSS, JS
from tasks.report.formatting import moment
from tasks.report.pages import Page

PAGE = """<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
  content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="referrer" content="no-referrer">
<title>{{ page.title }}</title>
<style>{{ css }}</style>
</head>
<body>
<header>
<h1>{{ page.title }}</h1>
<p class="subtitle">{{ page.subtitle }}</p>
{% if page.links %}<nav>{% for href, label in page.links %}<a href="{{ href }}">{{ label }}</a>{% endfor %}</nav>{% endif %}
</header>
<main>
<section class="kpis">
{% for kpi in page.kpis %}<div class="kpi"><div class="label">{{ kpi.label }}</div><div class="value">{{ kpi.value }}</div><div class="hint">{{ kpi.hint }}</div></div>
{% endfor %}</section>
<section class="charts">
{% for chart in page.charts %}<figure><figcaption>{{ chart.title }}</figcaption>{{ svg(chart.svg) }}{% if chart.note %}<p class="note">{{ chart.note }}</p>{% endif %}</figure>
{% endfor %}</section>
{% for table in page.tables %}<section class="block" id="{{ table.id }}">
<h2>{{ table.title }}</h2>
{% if table.note %}<p class="note">{{ table.note }}</p>{% endif %}
<div class="table" data-source="data-{{ table.id }}"><noscript>Ce tableau s'affiche avec JavaScript activé.</noscript></div>
<script type="application/json" id="data-{{ table.id }}">{{ data(table.payload()) }}</script>
</section>
{% endfor %}</main>
<footer>Généré le {{ generated }} à partir de l'entrepôt chorus-etl (vues documentées dans docs/warehouse.md).</footer>
<script>{{ js }}</script>
</body>
</html>
"""

_ENV = Environment(
    loader=DictLoader({"page.html": PAGE}),
    autoescape=True,
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def render_page(page: Page, generated: datetime) -> str:
    return _ENV.get_template("page.html").render(
        page=page,
        css=Markup(CSS),  # noqa: S704 - our own constant
        js=Markup(JS),  # noqa: S704 - our own constant
        svg=Markup,
        data=Markup,
        generated=moment(generated),
    )
