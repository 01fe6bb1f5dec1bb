"""What keeps a `make serve` rebuild small: work that no edit needs is not done again.

Each test checks the project's own configuration or hook, in process (no build): MkDocs' config
loading and the hooks are the real ones.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import jinja2
import jupytext
from mkdocs.config import load_config
from mkdocs.structure.files import get_files

ROOT = Path(__file__).resolve().parent.parent


def hook(name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_under_test", ROOT / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mkdocs_jupyter_reads_no_markdown_page(monkeypatch):
    """mkdocs-jupyter's `include` alone still parses every .md page with jupytext on every build (its
    `ignore` patterns are the only ones it checks before reading); the site's notebooks are found all the same."""
    config = load_config(str(ROOT / "mkdocs.yml"))
    plugin = config.plugins["mkdocs-jupyter"]
    read = []
    monkeypatch.setattr(jupytext, "read", lambda path, *args, **kwargs: read.append(path) or {})
    files = get_files(config)
    notebooks = sorted(file.src_uri for file in files if plugin.should_include(file))
    assert read == []
    assert notebooks == sorted(str(path.relative_to(ROOT / "docs")) for path in (ROOT / "docs").rglob("*.ipynb"))
    assert any(file.src_uri.endswith(".md") for file in files.documentation_pages())


def test_serve_compiles_each_template_once_and_an_edited_one_again(tmp_path, monkeypatch):
    compiled = []
    compile_ = jinja2.Environment.compile

    def counting(self, source, name=None, *args, **kwargs):
        compiled.append(name)
        return compile_(self, source, name, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    (tmp_path / "main.html").write_text("<p>{{ page }}</p>", encoding="utf-8")
    incremental = hook("incremental")

    def render(command: str, dirty: bool) -> str:
        """A new environment each time, as MkDocs makes one for every build."""
        incremental.on_startup(command=command, dirty=dirty)
        env = incremental.on_env(jinja2.Environment(loader=jinja2.FileSystemLoader(tmp_path)))
        return env.get_template("main.html").render(page="一页")

    assert render("build", False) == render("build", False) == "<p>一页</p>"
    assert compiled == ["main.html", "main.html"]  # a plain build keeps nothing between builds
    compiled.clear()
    assert render("serve", True) == render("serve", True) == "<p>一页</p>"
    assert compiled == ["main.html"]
    (tmp_path / "main.html").write_text("<p>{{ page }}（改）</p>", encoding="utf-8")
    assert render("serve", True) == "<p>一页（改）</p>"
    assert compiled == ["main.html", "main.html"]


def test_a_serve_rebuild_keeps_the_notebook_cache_and_a_build_evicts_it(tmp_path):
    """mkdocs-jupyter deletes every cached notebook that a build did not render; a `make serve` rebuild
    renders only the edited pages, so without the hook one prose edit would cost the next build a notebook run."""
    config = load_config(str(ROOT / "mkdocs.yml"))
    jupyter, notebooks = config.plugins["mkdocs-jupyter"], config.plugins["hooks/notebooks.py"]
    jupyter.config["cache_dir"] = str(tmp_path)
    modules = ("hooks/notebooks.py", "mkdocs_jupyter.plugin")
    post_build = [event for event in config.plugins.events["post_build"] if event.__module__ in modules]
    assert len(post_build) == 2  # in the order the build runs them
    for command, dirty, kept in (("serve", True, True), ("build", False, False)):
        cached = tmp_path / "notebook.json"
        cached.write_text("{}", encoding="utf-8")
        notebooks.on_startup(command=command, dirty=dirty)
        jupyter.on_pre_build(config=config)  # a build that renders no notebook
        for event in post_build:
            event(config=config)
        assert cached.exists() == kept, (command, dirty)
