"""`scheduler.py --check` against the fixture sites, a copy with changed markup, a dead site."""

import os
import subprocess
import sys

from tests.conftest import FIXTURES, ROOT
from tests.receivers import free_port
from tests.siteserver import serve
from tests.test_scheduler import write_config

LIVE_CD = "https://www.chinadaily.com.cn"


def run_check(config):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZGCWATCH_")}
    return subprocess.run([sys.executable, str(ROOT / "scheduler.py"), "--config", str(config),
                           "--check"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_check_is_green_on_the_fixture_sites_and_polite(tmp_path):
    with serve(FIXTURES / "chinadaily") as cd, serve(FIXTURES / "zgcgw") as zgc:
        config = write_config(tmp_path, {"chinadaily": {"base_url": cd.base_url},
                                         "zgcgw": {"base_url": zgc.base_url}})
        result = run_check(config)
        requests = {"chinadaily": cd.requests, "zgcgw": zgc.requests}
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"chinadaily (at {cd.base_url})"
    assert "  /china/society" in lines
    society = lines[lines.index("  /china/society") + 1]
    assert society == (f"    listing reached (200), 9 article links, "
                       f"next page {LIVE_CD}/china/society/page_2.html")
    assert lines[lines.index("  /china/society") + 2].startswith(
        f"    article {LIVE_CD}/a/202601/12/WS696433a4a3104fa76c52ca51.html: title \"Returnee "
        "graduates line up for 'Remain in Zhongguancun' jobs\", date '2026-01-12T07:35:00', "
        "body ")
    assert "  search:Zhongguancun returnees" in lines
    assert "  verdict: OK — 5 chains, listings, links and articles all match" in lines
    assert f"zgcgw (at {zgc.base_url})" in lines
    assert "  verdict: OK — 3 chains, listings, links and articles all match" in lines
    assert "NO MATCH" not in result.stdout
    # Politely: robots.txt first, then one listing page per chain and a few articles.
    for source, chains in (("chinadaily", 5), ("zgcgw", 3)):
        assert requests[source][0] == "/robots.txt", requests[source]
        assert len(requests[source]) <= 1 + 2 * chains + 1, requests[source]


def test_check_names_the_markup_that_no_longer_matches(tmp_path, site_copy):
    site = site_copy("chinadaily")
    for page in (site.site_dir / "site" / "a").rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        page.write_text(html.replace('<div class="lft_art" id="lft-art">',
                                     '<div class="article-main">'), encoding="utf-8")
    config = write_config(tmp_path, {"chinadaily": {"base_url": site.base_url},
                                     "zgcgw": {"enabled": False}})
    result = run_check(config)
    assert result.returncode == 1, result.stdout + result.stderr
    story = f"{LIVE_CD}/a/202601/12/WS696433a4a3104fa76c52ca51.html"
    red = (f"    NO MATCH: title: the site's markup (//div[@id='lft-art']//h1) matches nothing "
           f"on {story}; found only by a fallback")
    lines = result.stdout.splitlines()
    assert red in lines
    assert lines[-1] == (f"  verdict: FAILED — 5 part(s) no longer match; first: "
                         f"/china/governmentandpolicy: title: the site's markup "
                         f"(//div[@id='lft-art']//h1) matches nothing on {LIVE_CD}/a/202509/03/"
                         f"WS68b77678a31081fce7077b17.html; found only by a fallback")
    assert "date:" not in result.stdout and "body:" not in result.stdout  # only the headline


def test_check_says_when_a_listing_cannot_be_reached(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    config = write_config(tmp_path, {"zgcgw": {"base_url": dead},
                                     "chinadaily": {"enabled": False}})
    result = run_check(config)
    assert result.returncode == 1
    assert (f"    NO MATCH: listing not reached (Connection refused): "
            f"{dead}/zgc/yw/gzdt/index.html") in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1].startswith("  verdict: FAILED — 3 part(s)")
