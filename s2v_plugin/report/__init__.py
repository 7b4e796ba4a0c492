"""The self-contained HTML report of an evaluation: PNG quicklooks and SVG charts inline."""
