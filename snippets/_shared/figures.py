"""Figure set-up shared by the pages that draw.

A page includes the section below in a block without source; its snippet file runs this file first
(`runpy`), so the page and `python snippets/<page>.py` behave the same.
"""

# --8<-- [start:setup]
import base64
import io
import warnings
from importlib.resources import files

import matplotlib.pyplot as plt
import noto_cjk_sans_otc  # imported (not only named) so that a downloaded notebook installs it where missing
from matplotlib import font_manager

# Chinese text in figures: the Noto Sans CJK SC face of the Noto Sans CJK collection (SIL Open Font License),
# shipped by the noto-cjk-sans-otc package (no system font needed).
font_manager.fontManager.addfont(str(files(noto_cjk_sans_otc) / "NotoSansCJK-Regular.ttc"))
# A glyph missing from the font fails the build instead of drawing empty boxes.
warnings.filterwarnings("error", message=r"Glyph \d+ .* missing from font")
plt.rcParams.update(
    {
        "font.family": "sans-serif",
        "font.sans-serif": ["Noto Sans CJK SC", "DejaVu Sans"],
        "axes.unicode_minus": False,
        "figure.dpi": 100,
        "figure.facecolor": "white",  # an opaque white card reads the same in the light and dark palettes
        "savefig.facecolor": "white",
        "svg.hashsalt": "pytorch-notes",  # fixed ids: two builds write identical SVG
    }
)


def show(fig, alt: str) -> None:
    """Print the figure as an <img>, encoded as SVG or PNG, whichever is smaller."""
    encoded = {}
    for fmt, metadata in (("svg", {"Date": None}), ("png", {"Software": None})):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, metadata=metadata, bbox_inches="tight")
        encoded["svg+xml" if fmt == "svg" else fmt] = buffer.getvalue()
    plt.close(fig)
    mime, data = min(encoded.items(), key=lambda item: len(item[1]))
    print(f'<img class="figure" alt="{alt}" src="data:image/{mime};base64,{base64.b64encode(data).decode()}">')


# --8<-- [end:setup]
