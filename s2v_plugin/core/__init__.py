"""Pure numpy/scipy building blocks: tiling, speckle statistics, decorrelation, filters, metrics."""
