"""The Pages deployment, simulated: the site built with the base URL that `actions/configure-pages` gives for a
project page (`https://OWNER.github.io/REPO`) and for a user page (`https://OWNER.github.io`), each served under
that path on 127.0.0.1 as Pages serves it (the site's 404.html for a missing page), and read there: every link,
search, the figures and the 404 page. Also the workflow itself: it builds on the runner, installs only what the
build needs, takes the base URL from configure-pages and deploys with the official actions."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from urllib.parse import urljoin, urlsplit

import pytest
import yaml
from browsing import new_context, run_search, serve, settle
from bs4 import BeautifulSoup
from builds import DEPLOYMENTS, PUBLIC_HOST

from conftest import ROOT

LINKED = [("a", "href"), ("link", "href"), ("script", "src"), ("img", "src"), ("source", "src")]


@pytest.fixture(scope="module", params=sorted(DEPLOYMENTS))
def deployed(request, pages_site):
    """(the built site, the URL it is served at locally, its path, its public base URL)."""
    base_url, prefix = DEPLOYMENTS[request.param]
    target = pages_site(request.param)
    with serve(target, prefix) as local:
        yield target, local, prefix, base_url


def local_url(url: str, local: str) -> str | None:
    """An address as the deployed site would follow it, on the local server; None for another site's."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(local))
    if url.startswith(PUBLIC_HOST + "/") or url == PUBLIC_HOST:  # absolute: canonical links, the sitemap, 404.html
        return origin + (urlsplit(url).path or "/")
    return url if url.startswith(origin + "/") else None


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (loopback only)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_every_link_resolves_under_the_sites_path(deployed):
    """Every href and src of every page, resolved as a browser resolves it there (canonical links and the
    sitemap's absolute addresses included), answers 200 under the site's path: nothing points above it."""
    target, local, prefix, public = deployed
    checked: dict[str, int] = {}
    pages = sorted(target.rglob("*.html"))
    assert len(pages) >= 14
    for path in pages:
        relative = path.relative_to(target).as_posix()
        served = local + (relative.removesuffix("index.html") if relative != "404.html" else "404.html")
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        for tag, attribute in LINKED:
            for node in soup.find_all(tag, attrs={attribute: True}):
                url = urljoin(served, node[attribute]).split("#", 1)[0]
                if url.startswith(("data:", "mailto:")):
                    continue
                mapped = local_url(url, local)
                if mapped is None:  # another site (the repository, Colab): not this deployment's to serve
                    continue
                assert mapped.startswith(local), f"{relative}: {node[attribute]} leaves the site's path {prefix}"
                if mapped not in checked:
                    checked[mapped] = status(mapped)
    sitemap = (target / "sitemap.xml").read_text(encoding="utf-8")
    locations = re.findall(r"<loc>([^<]+)</loc>", sitemap)
    assert len(locations) >= 13 and all(loc.startswith(public.rstrip("/") + "/") for loc in locations), locations
    for location in locations:
        mapped = local_url(location, local)
        checked.setdefault(mapped, status(mapped))
    broken = {url: code for url, code in checked.items() if code != 200}
    assert not broken, broken
    # The crawl covered every page, and the stylesheets, scripts, search index, figures and downloads.
    for path in pages:  # every page is reached by a link (404.html is reached by a missing address: below)
        relative = path.relative_to(target).as_posix()
        assert relative == "404.html" or local + relative.removesuffix("index.html") in checked, relative
    for kind in (".css", ".js", "figure-", ".ipynb", ".py"):
        assert any(kind in urlsplit(url).path for url in checked), f"no {kind} link was checked"


def test_search_finds_and_opens_a_page_under_the_path(deployed, browser):
    target, local, prefix, _ = deployed
    context, watch = new_context(browser, (local,))
    page = context.new_page()
    page.goto(local + "autograd/tensor-attributes/")
    settle(page)
    hrefs = run_search(page, "交叉熵")
    assert any("losses/cross-entropy/" in href for href in hrefs), hrefs
    with page.expect_navigation():
        page.locator(".md-search-result__item > a[href*='losses/cross-entropy/']").first.click()
    settle(page)
    assert page.url.split("#")[0].split("?")[0] == local + "losses/cross-entropy/", page.url
    assert "CrossEntropyLoss" in page.locator("article h1").inner_text()
    context.close()
    assert not watch.problems(), "\n".join(watch.problems())


def test_figures_load_under_the_path(deployed, browser):
    target, local, _, _ = deployed
    figure_pages = [
        p.parent.relative_to(target).as_posix() + "/"
        for p in sorted(target.rglob("index.html"))
        if 'class="figure"' in p.read_text(encoding="utf-8")
    ]
    assert len(figure_pages) >= 3, figure_pages
    context, watch = new_context(browser, (local,))
    page = context.new_page()
    loaded = 0
    for url in figure_pages:
        page.goto(local + url)
        settle(page)
        sizes = page.evaluate(
            """() => Promise.all([...document.querySelectorAll('img.figure')].map(i => {
                i.loading = 'eager';
                return i.decode().then(() => i.naturalWidth, () => 0);
            }))"""
        )
        assert sizes and all(sizes), f"{url}: figures that did not load: {sizes}"
        loaded += len(sizes)
    context.close()
    assert loaded >= len(figure_pages)
    assert not watch.problems(), "\n".join(watch.problems())


def test_404_page_is_styled_and_leads_back_home(deployed, browser):
    """A missing page, one folder deep: Pages answers with 404.html, whose stylesheets, scripts and links must
    come from the site's path (absolute, from site_url), not from where the missing page would have been."""
    _, local, prefix, _ = deployed
    context, watch = new_context(browser, (local,))
    page = context.new_page()
    failed: list[str] = []
    page.on(
        "response",
        lambda r: (
            failed.append(f"{r.status} {r.url}") if r.status >= 400 and r.request.resource_type != "document" else None
        ),
    )
    response = page.goto(local + "no/such-page/")
    assert response.status == 404
    settle(page)
    assert "404" in page.locator("article").inner_text()
    # Material's stylesheet applied: the header is laid out as a bar, not as unstyled text.
    header = page.evaluate("getComputedStyle(document.querySelector('.md-header')).position")
    assert header in {"sticky", "fixed"}, header
    with page.expect_navigation():
        page.locator("a.md-header__button.md-logo").click()
    assert page.url == local, page.url
    settle(page)
    assert page.locator("article h1").count() == 1
    context.close()
    assert not failed, failed
    # Chromium reports the missing page's own 404 on the console: that one is the point of the test.
    missing = f"{local}no/such-page/: Failed to load resource: the server responded with a status of 404"
    assert not [p for p in watch.problems() if not p.startswith(f"console error: {missing}")], watch.problems()


# -- The workflow ----------------------------------------------------------------------------------------


def pages_workflow() -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / "pages.yml").read_text(encoding="utf-8"))


def test_pages_workflow_builds_on_the_runner_and_deploys_with_the_official_actions():
    jobs = pages_workflow()["jobs"]
    build, deploy = jobs["build"], jobs["deploy"]
    assert "container" not in build, "upload-pages-artifact from a container job is a known upstream problem"
    steps = build["steps"]
    uses = [step["uses"].split("@")[0] for step in steps if "uses" in step]
    assert uses == [
        "actions/checkout",
        "actions/setup-python",
        "actions/configure-pages",
        "actions/upload-pages-artifact",
    ], uses
    configure = next(step for step in steps if step.get("uses", "").startswith("actions/configure-pages@"))
    built = next(step for step in steps if step.get("run") == "make build")
    assert built["env"]["SITE_URL"] == "${{ steps." + configure["id"] + ".outputs.base_url }}"
    # Only what the build needs, PyTorch from PyTorch's index.
    assert built["env"]["LOCK"] == "current" and built["env"]["PYTORCH_INDEX_URL"].startswith("https://")
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "site"
    assert [step["uses"].split("@")[0] for step in deploy["steps"]] == ["actions/deploy-pages"]
    assert deploy["needs"] == "build"


def test_readme_names_the_one_pages_setting():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "Settings → Pages → Build and deployment → Source" in readme and "GitHub Actions" in readme


def test_current_lock_holds_the_build_and_not_the_tools():
    """`LOCK=current` (the deploy job) installs MkDocs and its plugins, none of the test or lint tools."""
    lock = (ROOT / "requirements" / "current.txt").read_text(encoding="utf-8").lower()
    names = set(re.findall(r"^([a-z0-9_.-]+)==", lock, re.M))
    assert {"mkdocs", "mkdocs-material", "markdown-exec", "mkdocs-jupyter", "numpy", "matplotlib"} <= names
    tools = {"pytest", "playwright", "linkchecker", "zizmor", "pre-commit", "ruff", "check-jsonschema"}
    assert not names & tools, names & tools
