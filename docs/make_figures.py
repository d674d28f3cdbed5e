"""Draw the figures of the theory page (docs/figures/*.png) with jconv.symbolic.plot_pattern.

Run: python docs/make_figures.py   (needs sympy and matplotlib)
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from jconv.symbolic import circulant, conv_matrix, group_block_matrix, plot_pattern, symbols  # noqa: E402

OUT = Path(__file__).resolve().parent / "figures"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    # one 2-D layer, 2 -> 3 channels, 3x3 kernel on a 4x4 input ("same" padding): weight sharing
    w = symbols("w", (3, 2, 3, 3))
    plot_pattern(conv_matrix(w, (2, 4, 4), padding=1), OUT / "conv_matrix.png",
                 row_blocks=[16] * 3, col_blocks=[16] * 2, color_by="symbol",
                 title="conv_matrix: 2 -> 3 channels, 3x3 kernel, 4x4 input")
    # the same channels split into groups: the matrix is block diagonal
    g = symbols("g", (4, 2, 3))
    plot_pattern(group_block_matrix(g, (4, 8), groups=2, padding=1), OUT / "groups.png",
                 title="group_block_matrix: 4 -> 4 channels, 2 groups, length 8")
    # a circulant: one kernel, every cyclic shift
    plot_pattern(circulant(symbols("c", (8,))), OUT / "circulant.png", color_by="symbol",
                 title="circulant of c_0 ... c_7")
    for p in sorted(OUT.glob("*.png")):
        print("wrote", p.relative_to(OUT.parent.parent))


if __name__ == "__main__":
    main()
