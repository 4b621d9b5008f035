"""tests/browser/test_ui.py — the embedded web UI in Debian's headless chromium against the real
ember binary on a free loopback port, holding imported samples and scraping itself plus a target
on a closed port. Screenshots go to $BROWSER_ARTIFACTS (tools/dev.sh: build/browser-artifacts)."""
import importlib.util
import json
import math
import os
import time
import urllib.parse
from pathlib import Path

import pytest

from cdp import Browser

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("e2e_conftest", HERE.parent / "e2e" / "conftest.py")
e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e)

ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", HERE.parents[1] / "build" / "browser-artifacts"))
PAGES = ["/graph", "/targets", "/alerts", "/rules", "/status", "/tsdb-status", "/flags", "/config"]


# One alert of each state, and a recording rule that fails at every evaluation.
RULES = """
groups:
  - name: demo
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1) > 0
        labels: {severity: page}
        annotations: {summary: "It fires"}
      - alert: SlowToFire
        expr: vector(1) > 0
        for: 1h
      - alert: NeverFires
        expr: vector(1) < 0
      - record: broken
        expr: label_replace(vector(1), "a", "$1", "b", "(")
"""


@pytest.fixture(scope="module")
def ember(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ember")
    closed = e2e.free_port()  # nothing listens there: the target must show as down
    config = f"""
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: ['{tmp}/rules.yml']
scrape_configs:
  - job_name: ember
    static_configs:
      - targets: ['127.0.0.1:{{self_port}}']
  - job_name: broken
    static_configs:
      - targets: ['127.0.0.1:{closed}']
"""
    (tmp / "rules.yml").write_text(RULES)
    em = e2e.Ember(tmp, config)
    em.closed_port = closed
    # One hour of 15s samples: three sine waves and a temperature, ending now.
    now = int(time.time() * 1000)
    lines = []
    for i in range(0, 3600, 15):
        t = now - 3600 * 1000 + i * 1000
        for k, inst in enumerate("abc"):
            lines.append(f'demo_requests_total{{instance="{inst}",job="demo"}} '
                         f'{100 + 50 * math.sin(i / 300 + k):.3f} {t}')
        lines.append(f'demo_temperature_celsius{{room="lab"}} {20 + 3 * math.cos(i / 500):.3f} {t}')
    status, _, body = e2e.http("POST", em.base + "/api/v1/import/prometheus",
                               data=("\n".join(lines) + "\n").encode())
    assert status == 204, body
    yield em
    assert em.stop() == 0, em.logs()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    profile = tmp_path_factory.mktemp("chromium") / "profile"
    profile.mkdir()
    b = Browser(str(profile))
    yield b
    b.close()


@pytest.fixture
def page(browser):
    p = browser.new_page()
    browser.exceptions()  # start clean
    yield p
    errors = browser.exceptions()
    p.b.send("Target.closeTarget", {"targetId": p.cmd("Target.getTargetInfo")["targetInfo"]["targetId"]})
    assert not errors, f"uncaught exceptions in the page: {errors}"


def shot(page, name):
    page.screenshot(str(ARTIFACTS / f"{name}.png"))


def settled(page):
    """Waits until the view has replaced its 'Loading…' placeholders."""
    page.wait("document.querySelector('#main').children.length > 0 && "
              "!document.querySelector('#main').textContent.includes('Loading…')", 10,
              what="the view to finish loading")


@pytest.mark.parametrize("path", PAGES)
def test_page_loads(ember, page, path):
    page.goto(ember.base + path)
    settled(page)
    view = page.eval("document.querySelector('#main').dataset.view")
    assert view == path[1:]
    active = page.eval("document.querySelector('#nav a.active') && "
                       "document.querySelector('#nav a.active').getAttribute('href')")
    assert active == path
    shot(page, "page" + path.replace("/", "_"))
    errors = page.eval("[...document.querySelectorAll('#main .error')].map(e => e.textContent)")
    assert errors == [], errors


def test_root_redirects_to_graph(ember, page):
    page.goto(ember.base + "/")
    assert page.eval("location.pathname") == "/graph"
    assert page.eval("!!document.querySelector('textarea.expr')")
    # The theme button cycles auto → light → dark and the page follows.
    page.eval("document.getElementById('theme').click(); document.getElementById('theme').click()")
    assert page.eval("document.documentElement.dataset.theme") == "dark"
    bg = page.eval("getComputedStyle(document.body).backgroundColor")
    assert bg == "rgb(18, 21, 28)", bg
    shot(page, "graph_dark")
    page.eval("document.getElementById('theme').click()")  # back to auto for the other tests
    assert page.eval("document.documentElement.dataset.theme") is None


def test_graph_from_url_renders_points_legend_hover_and_stacking(ember, page):
    q = urllib.parse.quote("demo_requests_total")
    page.goto(f"{ember.base}/graph?g0.expr={q}&g0.tab=0&g0.range_input=1h")
    page.wait("document.querySelectorAll('.chart svg path.series').length === 3", 10,
              what="three series drawn")
    per_series = page.eval("[...document.querySelectorAll('.chart svg path.series')]"
                           ".map(p => +p.dataset.points)")
    # 1h at the automatic 15s step: each imported series has a point on (nearly) every step.
    assert all(n >= 200 for n in per_series), per_series
    segs = page.eval("document.querySelector('.chart svg path.series').getAttribute('d')"
                     ".split(/[ML]/).length - 1")
    assert segs == per_series[0]
    legend = page.eval("[...document.querySelectorAll('.legend div')].map(d => d.textContent)")
    assert legend == [f'demo_requests_total{{instance="{i}", job="demo"}}' for i in "abc"]
    box = page.eval("(() => { const r = document.querySelector('.chart svg')"
                    ".getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()")
    page.cmd("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": box[0] + box[2] * 0.6,
                                          "y": box[1] + box[3] / 2})
    page.wait("!document.querySelector('.tooltip').hidden", 5, what="hover tooltip")
    rows = page.eval("[...document.querySelectorAll('.tooltip .s')].map(s => s.textContent)")
    assert len(rows) == 3 and all("demo_requests_total" in r for r in rows), rows
    # The tooltip holds the time and one line per series, nothing else (once a stray "null").
    tip = page.eval("document.querySelector('.tooltip').textContent")
    assert "null" not in tip and tip.count("demo_requests_total") == 3, tip
    shot(page, "graph_hover")
    # Stacked mode: filled areas, and the URL remembers it.
    page.eval("(() => { const c = document.querySelector('input.stacked'); c.click(); })()")
    page.wait("document.querySelectorAll('.chart svg path[fill-opacity]').length === 3", 10,
              what="stacked areas")
    assert "g0.stacked=1" in page.eval("location.search")
    top = page.eval("Math.max(...[...document.querySelectorAll('.axis text')]"
                    ".map(t => parseFloat(t.textContent)).filter(isFinite))")
    assert top >= 300  # three series of 50..150 stacked
    shot(page, "graph_stacked")
    # Clicking a legend entry isolates that series.
    page.eval("document.querySelector('.legend div[data-series=\"1\"]').click()")
    page.wait("document.querySelectorAll('.chart svg path.series').length === 1", 5,
              what="one series after isolating it")


def test_table_from_url(ember, page):
    q = urllib.parse.quote('demo_temperature_celsius{room="lab"}')
    page.goto(f"{ember.base}/graph?g0.expr={q}&g0.tab=1")
    page.wait("document.querySelectorAll('.result-table tr').length === 1", 10, what="table row")
    assert page.eval("document.querySelector('textarea.expr').value") == \
        'demo_temperature_celsius{room="lab"}'
    assert page.eval("document.querySelector('.tabs button.on').textContent") == "Table"
    cells = page.eval("[...document.querySelectorAll('.result-table td')].map(t => t.textContent)")
    assert cells[0] == 'demo_temperature_celsius{room="lab"}'
    assert 17 <= float(cells[1]) <= 23
    shot(page, "table")
    # Another page and back through the menu: the panel comes back as it was.
    page.eval("document.querySelector('#nav a[href=\"/targets\"]').click()")
    page.wait("document.querySelector('#main').dataset.view === 'targets'", 5, what="targets view")
    page.eval("document.querySelector('#nav a[href=\"/graph\"]').click()")
    page.wait("document.querySelectorAll('.result-table tr').length === 1", 10,
              what="the table again")
    assert page.eval("document.querySelector('textarea.expr').value") == \
        'demo_temperature_celsius{room="lab"}'
    assert "g0.tab=1" in page.eval("location.search")
    # An evaluation time before the imported hour finds nothing; the URL keeps it.
    page.eval("(() => { const i = document.querySelector('input.eval'); i.value = '2001-01-01 00:00:00';"
              " i.dispatchEvent(new Event('change')); })()")
    page.wait("document.querySelector('.table-area').textContent.includes('Empty query result')", 10,
              what="an empty result at 2001-01-01")
    assert "g0.end_input=2001-01-01" in page.eval("location.search")


def test_typed_query_with_completion_updates_url(ember, page):
    page.goto(ember.base + "/graph")
    page.eval("document.querySelector('textarea.expr').focus()")
    page.type("histogram_qu")
    page.wait("[...document.querySelectorAll('.complete div')].some(d => "
              "d.textContent.startsWith('histogram_quantile'))", 5, what="function completion")
    page.key("Escape", keycode=27)
    page.eval("(() => { const t = document.querySelector('textarea.expr'); t.value = '';"
              " t.dispatchEvent(new Event('input')); })()")
    page.type("demo_te")
    page.wait("[...document.querySelectorAll('.complete div')].some(d => "
              "d.textContent.startsWith('demo_temperature_celsius'))", 5,
              what="metric name completion")
    page.key("Enter", keycode=13)  # accepts the highlighted suggestion
    assert page.eval("document.querySelector('textarea.expr').value") == \
        "demo_temperature_celsius"
    page.key("Escape", keycode=27)
    page.eval("document.querySelector('.tabs button[data-tab=\"1\"]').click()")
    page.eval("document.querySelector('button.exec').click()")
    page.wait("document.querySelectorAll('.result-table tr').length === 1", 10, what="table row")
    sp = page.eval("location.search")
    params = urllib.parse.parse_qs(sp[1:])
    assert params["g0.expr"] == ["demo_temperature_celsius"] and params["g0.tab"] == ["1"], sp
    shot(page, "typed_query")


def test_query_error_shown_inline(ember, page):
    page.goto(ember.base + "/graph?g0.expr=" + urllib.parse.quote("sum(") + "&g0.tab=1")
    text = page.wait("document.querySelector('.panel .error') && "
                     "document.querySelector('.panel .error').textContent", 10, what="error box")
    assert "bad_data" in text, text
    shot(page, "query_error")


def test_down_target_shows_down(ember, page):
    url = f"127.0.0.1:{ember.closed_port}"
    page.goto(ember.base + "/targets")

    def both_scraped():
        page.eval("document.querySelector('#nav a[href=\"/targets\"]').click()")  # re-render
        settled(page)
        return page.eval(f"""(() => {{
            const rows = [...document.querySelectorAll('tr.target')];
            const down = rows.find(r => r.textContent.includes('{url}'));
            const up = rows.find(r => r.dataset.health === 'up');
            return !!(down && down.dataset.health === 'down' && up);
        }})()""")
    e2e.wait_for(both_scraped, 15, interval=0.5, what="a down and an up target")
    err = page.eval(f"[...document.querySelectorAll('tr.target')].find(r => "
                    f"r.textContent.includes('{url}')).querySelector('.err-cell').textContent")
    assert err, "a down target shows its last error"
    pools = page.eval("[...document.querySelectorAll('table[data-pool]')].map(t => t.dataset.pool)")
    assert pools == ["broken", "ember"]
    shot(page, "targets_down")


def test_tsdb_status_lists_top_metrics(ember, page):
    page.goto(ember.base + "/tsdb-status")
    settled(page)
    head = page.eval("document.querySelector('#head-stats').textContent")
    assert "numSeries" in head
    names = page.eval("[...document.querySelectorAll('[data-stat=seriesCountByMetricName] td.mono')]"
                      ".map(t => t.textContent)")
    assert "demo_requests_total" in names, names


def test_flags_and_config_pages(ember, page):
    """The flags page lists the command line, the config page the loaded file."""
    for view, needle in (("/flags", "storage.tsdb.path"), ("/config", "scrape_configs")):
        page.goto(ember.base + view)
        settled(page)
        text = page.eval("document.querySelector('#main').textContent")
        assert needle in text and "not available" not in text, (view, text[:300])


def test_assets_cached_and_gzipped(ember):
    status, headers, _ = e2e.http("GET", ember.base + "/static/app.js",
                                  headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    etag = headers["ETag"]
    status, _, body = e2e.http("GET", ember.base + "/static/app.js",
                               headers={"If-None-Match": etag})
    assert status == 304 and body == b""
    status, _, _ = e2e.http("GET", ember.base + "/static/../../etc/passwd")
    assert status == 404


def test_alerts_and_rules(ember, page):
    page.goto(ember.base + "/alerts")

    def states():
        page.eval("document.querySelector('#nav a[href=\"/alerts\"]').click()")  # re-render
        settled(page)
        got = page.eval("Object.fromEntries([...document.querySelectorAll('[data-alert-rule]')]"
                        ".map(d => [d.dataset.alertRule, d.closest('.card')"
                        ".querySelector('.badge').textContent]))")
        return got if got.get("AlwaysFiring") == "FIRING" else None
    got = e2e.wait_for(states, 15, interval=0.5, what="the alert states")
    assert got == {"AlwaysFiring": "FIRING", "SlowToFire": "PENDING", "NeverFires": "INACTIVE"}
    text = page.eval("document.querySelector('[data-alert-rule=AlwaysFiring]').textContent")
    assert 'severity="page"' in text and "It fires" in text
    shot(page, "alerts")
    page.goto(ember.base + "/rules")
    settled(page)
    err = page.eval("document.querySelector('tr[data-rule=broken]').textContent")
    assert "ERR" in err and "regular expression" in err, err
    slow = page.eval("document.querySelector('tr[data-rule=SlowToFire]').textContent")
    assert "for: 1h" in slow, slow
    firing = page.eval("document.querySelector('tr[data-rule=AlwaysFiring]').textContent")
    assert 'severity="page"' in firing and "summary: It fires" in firing, firing
    shot(page, "rules")
