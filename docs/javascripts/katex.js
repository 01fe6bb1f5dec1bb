// Formulas rendered in the browser by the KaTeX that ships with the site (docs/assets/katex/:
// KaTeX 0.19.1 from npm, MIT licence in docs/assets/katex/LICENSE; the stylesheet lists the woff2 fonts only).
// Note pages: pymdownx.arithmatex (generic) wraps each formula in .arithmatex as \( \) or \[ \].
// Notebook pages: nbconvert leaves $ $ and $$ $$ in the rendered Markdown cells.
// KaTeX (~270 KB of script) is loaded only by pages that have a formula, so the others stay light.
(function () {
  var base = document.currentScript.src.replace(/javascripts\/katex\.js(\?.*)?$/, "assets/katex/");
  var loading = null;

  function load(name) {
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = base + name;
      script.onload = resolve;
      script.onerror = function () { reject(new Error("could not load " + script.src)); };
      document.head.appendChild(script);
    });
  }

  function katex() {
    if (!loading) {
      var style = document.createElement("link");
      style.rel = "stylesheet";
      style.href = base + "katex.min.css";
      document.head.appendChild(style);
      loading = load("katex.min.js").then(function () { return load("auto-render.min.js"); });
    }
    return loading;
  }

  function render() {
    var notes = document.querySelectorAll(".arithmatex");
    var cells = document.querySelectorAll(".jupyter-wrapper .jp-RenderedMarkdown");
    var hasMath = notes.length > 0 || Array.prototype.some.call(cells, function (cell) {
      return /\$|\\\(|\\\[/.test(cell.textContent);
    });
    if (!hasMath) return;
    katex().then(function () {
      notes.forEach(function (element) {
        renderMathInElement(element, {
          delimiters: [
            { left: "\\(", right: "\\)", display: false },
            { left: "\\[", right: "\\]", display: true },
          ],
          throwOnError: false,
        });
      });
      cells.forEach(function (element) {
        renderMathInElement(element, {
          delimiters: [
            { left: "$$", right: "$$", display: true },
            { left: "$", right: "$", display: false },
            { left: "\\(", right: "\\)", display: false },
            { left: "\\[", right: "\\]", display: true },
          ],
          throwOnError: false,
        });
      });
    });
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(render); // Material's page-load observable (also fires with instant navigation)
  } else {
    document.addEventListener("DOMContentLoaded", render);
  }
})();
