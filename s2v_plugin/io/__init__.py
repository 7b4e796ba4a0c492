"""GDAL windowed raster reading and writing with georeferencing and nodata handling."""
