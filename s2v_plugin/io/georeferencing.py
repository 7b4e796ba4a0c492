"""Georeferencing carried from an input raster to its outputs: CRS, geotransform and GCPs."""

from __future__ import annotations

from dataclasses import dataclass, replace

from osgeo import gdal


@dataclass(frozen=True)
class Georeferencing:
    """Everything that places a raster on the ground.

    Attributes
    ----------
    crs_wkt : str
        CRS of the geotransform ("" when none).
    geotransform : tuple or None
        GDAL geotransform, or None when the raster has none (SLCs usually have GCPs instead).
    gcps : tuple of (pixel, line, x, y, z) tuples
        Ground control points.
    gcp_crs_wkt : str
        CRS of the GCPs.
    """

    crs_wkt: str = ""
    geotransform: tuple | None = None
    gcps: tuple = ()
    gcp_crs_wkt: str = ""

    @classmethod
    def from_dataset(cls, dataset: gdal.Dataset) -> Georeferencing:
        """Read the georeferencing of an open GDAL dataset."""
        transform = dataset.GetGeoTransform(can_return_null=True)
        gcps = tuple(
            (g.GCPPixel, g.GCPLine, g.GCPX, g.GCPY, g.GCPZ) for g in (dataset.GetGCPs() or ())
        )
        return cls(
            crs_wkt=dataset.GetProjection() or "",
            geotransform=tuple(transform) if transform is not None else None,
            gcps=gcps,
            gcp_crs_wkt=dataset.GetGCPProjection() or "" if gcps else "",
        )

    def resampled(self, row_factor: float, col_factor: float) -> Georeferencing:
        """Georeferencing after Fourier resampling to pixels ``row_factor`` x ``col_factor``
        times larger (factors > 1 enlarge pixels; oversampling removal).

        Output sample ``j`` sits on input sample ``j * factor``: pixel centres, not corners,
        coincide at the origin. The geotransform origin therefore moves by
        ``(1 - factor) / 2`` input pixels, and GCP pixel/line ``p`` becomes
        ``(p - 1/2) / factor + 1/2``.
        """
        transform = self.geotransform
        if transform is not None:
            x0, dx, rx, y0, ry, dy = transform
            shift_col, shift_row = 0.5 * (1.0 - col_factor), 0.5 * (1.0 - row_factor)
            transform = (
                x0 + shift_col * dx + shift_row * rx,
                dx * col_factor,
                rx * row_factor,
                y0 + shift_col * ry + shift_row * dy,
                ry * col_factor,
                dy * row_factor,
            )
        gcps = tuple(
            ((pixel - 0.5) / col_factor + 0.5, (line - 0.5) / row_factor + 0.5, x, y, z)
            for pixel, line, x, y, z in self.gcps
        )
        return replace(self, geotransform=transform, gcps=gcps)

    def apply(self, dataset: gdal.Dataset) -> None:
        """Write this georeferencing into a dataset opened for update."""
        if self.geotransform is not None:
            dataset.SetGeoTransform(self.geotransform)
            if self.crs_wkt:
                dataset.SetProjection(self.crs_wkt)
        if self.gcps:
            gcps = [gdal.GCP(x, y, z, pixel, line) for pixel, line, x, y, z in self.gcps]
            dataset.SetGCPs(gcps, self.gcp_crs_wkt)
