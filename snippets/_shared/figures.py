"""Figure set-up shared by the pages that draw.

A page includes the section below in a block without source; its snippet file
runs this file first (`runpy`), so the page and `python snippets/<page>.py`
behave the same.

`show(fig, alt)` is the only call a page makes. On a page it prints two <img>
tags: a light and a dark variant (Material's `#only-light` / `#only-dark`
fragments pick the one that matches the palette), each a PNG or WebP at 2× pixel
density or an SVG, on a transparent background, with `alt` as its text. Run on
its own (a downloaded .py or notebook), it shows the figure the ordinary way
(`plt.show()`), never base64.

Legible on a phone: a figure is shrunk to the content column (about 358 CSS px
on a 390 px phone), so its smallest text is
`pt × 100/72 × 358 / (100 × width in inches)` px there. Keep every font size at
least twice the figure's width in inches (a 5-inch figure: 10 pt or more);
`data-min-text-px` on the <img> records the smallest text size at natural size,
and tests/test_reading.py checks it in a browser.
"""

# --8<-- [start:setup]
import base64
import colorsys
import html
import io
import os
import sys
import warnings
from importlib.resources import files

import matplotlib
import matplotlib.pyplot as plt

# imported (not only named): a downloaded notebook installs it where missing
import noto_cjk_sans_otc
import PIL.Image
from matplotlib import font_manager
from matplotlib.colors import to_rgba

# Chinese text in figures: the Noto Sans CJK SC face of the Noto Sans CJK
# collection (SIL Open Font License), shipped by the noto-cjk-sans-otc package
# (no system font needed).
font_manager.fontManager.addfont(
    str(files(noto_cjk_sans_otc) / "NotoSansCJK-Regular.ttc")
)
# A glyph missing from the font fails the build instead of drawing empty boxes.
warnings.filterwarnings("error", message=r"Glyph \d+ .* missing from font")
plt.rcParams.update(
    {
        "font.family": "sans-serif",
        "font.sans-serif": ["Noto Sans CJK SC", "DejaVu Sans"],
        "font.size": 11,
        "axes.unicode_minus": False,
        "figure.dpi": 100,  # 1 inch = 100 CSS px at natural size
        # fixed ids: two builds write identical SVG
        "svg.hashsalt": "pytorch-notes",
    }
)
# lightness of black text, lines and spines in the dark variant
_DARK_TEXT = 0.88
# lightness of white fills (legend frames, boxes) in the dark variant
_DARK_FILL = 0.16


def _on_page() -> bool:
    """True while the site build runs the block (its worker), False in a plain
    script or notebook."""
    return (
        os.environ.get("DOCS_EXEC_ENV") is not None
        or "exec_worker" in sys.modules
    )


def _for_dark(color, *, fill=False):
    """The colour an artist gets in the dark variant: greys flip, colours are
    lightened."""
    red, green, blue, alpha = to_rgba(color)
    if alpha == 0:
        return color
    hue, lightness, saturation = colorsys.rgb_to_hls(red, green, blue)
    if saturation < 0.15:
        # black, grey, white: flip the lightness onto the slate palette
        lightness = (
            _DARK_FILL + (1 - lightness) * (_DARK_TEXT - _DARK_FILL)
            if fill
            else 1 - lightness * 0.85
        )
        lightness = min(lightness, _DARK_TEXT) if not fill else lightness
    else:
        # coloured lines and bars stay recognisable, bright on a dark page
        lightness = max(lightness, 0.62)
    return (*colorsys.hls_to_rgb(hue, lightness, saturation), alpha)


def _make_dark(fig) -> None:
    """Recolour the figure in place for the dark palette; images (photos, heat
    maps) keep their colours, and so does text drawn on top of an image."""
    from matplotlib.collections import Collection
    from matplotlib.image import AxesImage
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.text import Text

    on_images = {id(t) for ax in fig.axes if ax.images for t in ax.texts}
    for artist in fig.findobj():
        if isinstance(artist, AxesImage):
            continue
        if isinstance(artist, Text):
            if id(artist) not in on_images:
                artist.set_color(_for_dark(artist.get_color()))
                box = artist.get_bbox_patch()
                if box is not None:
                    box.set_facecolor(_for_dark(box.get_facecolor(), fill=True))
                    box.set_edgecolor(_for_dark(box.get_edgecolor()))
        elif isinstance(artist, Line2D):
            artist.set_color(_for_dark(artist.get_color()))
            artist.set_markerfacecolor(
                _for_dark(artist.get_markerfacecolor(), fill=True)
            )
            artist.set_markeredgecolor(_for_dark(artist.get_markeredgecolor()))
        elif isinstance(artist, Patch) and artist not in (
            fig.patch,
            *(ax.patch for ax in fig.axes),
        ):
            artist.set_facecolor(_for_dark(artist.get_facecolor(), fill=True))
            artist.set_edgecolor(_for_dark(artist.get_edgecolor()))
        elif isinstance(artist, Collection):
            artist.set_facecolors(
                [_for_dark(c, fill=True) for c in artist.get_facecolors()]
            )
            artist.set_edgecolors(
                [_for_dark(c) for c in artist.get_edgecolors()]
            )


def _smallest_text_px(fig) -> float:
    from matplotlib.text import Text

    sizes = [
        t.get_fontsize()
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip()
    ]
    return round(min(sizes, default=99) * fig.dpi / 72, 1)


def _encode(fig) -> tuple[str, bytes, int, int]:
    """(mime, bytes, width, height) at 2× density, size in CSS px. Line art:
    the smaller of SVG and PNG; figures with photos or heat maps: WebP (lossy,
    quality 90), a sixth of the PNG's size."""

    def save(fmt, **options):
        buffer = io.BytesIO()
        fig.savefig(
            buffer,
            format=fmt,
            bbox_inches="tight",
            dpi=2 * fig.dpi,
            transparent=True,
            **options,
        )
        return buffer.getvalue()

    if any(ax.images for ax in fig.axes):
        # WebP's default effort (method 4): method 6 is 12 % smaller,
        # and twenty times slower to encode.
        webp = save("webp", pil_kwargs={"quality": 90, "method": 4})
        size = PIL.Image.open(io.BytesIO(webp)).size
        width, height = (side // 2 for side in size)
        return "webp", webp, width, height
    png = save("png", metadata={"Software": None})
    width, height = (
        int.from_bytes(png[16:20], "big") // 2,
        int.from_bytes(png[20:24], "big") // 2,
    )
    svg = save("svg", metadata={"Date": None})
    return (
        ("svg+xml", svg, width, height)
        if len(svg) < len(png)
        else ("png", png, width, height)
    )


def show(fig, alt: str) -> None:
    """On a page: print the figure as a light and a dark <img>. Elsewhere: show
    it with plt.show()."""
    if not _on_page():
        if matplotlib.get_backend().lower() in {
            "agg",
            "cairo",
            "pdf",
            "pgf",
            "ps",
            "svg",
            "template",
        }:
            # no window to show it in (non-interactive backend)
            print(f"[图] {alt}")
            plt.close(fig)
        else:
            plt.show()
        return
    if not alt.strip():
        raise ValueError(
            "show(fig, alt): describe what the figure shows in alt"
        )
    smallest = _smallest_text_px(fig)
    light = _encode(fig)
    _make_dark(fig)
    dark = _encode(fig)
    plt.close(fig)
    text = html.escape(alt, quote=True)
    for variant, (mime, data, width, height) in (
        ("light", light),
        ("dark", dark),
    ):
        encoded = base64.b64encode(data).decode()
        src = f"data:image/{mime};base64,{encoded}#only-{variant}"
        print(
            f'<img class="figure" alt="{text}" width="{width}" '
            f'height="{height}" data-min-text-px="{smallest}" '
            f'data-gallery="{variant}" src="{src}">'
        )


# --8<-- [end:setup]
