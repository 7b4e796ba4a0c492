#!/usr/bin/env bash
# Install what the project needs on a fresh Debian 12 or 13 machine: QGIS from apt (3.22 or 3.40)
# and a virtual environment (.venv) with the Python packages. Safe to run again: it skips what is
# there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(qgis python3-qgis qgis-providers gdal-bin python3-gdal python3-venv)
# `bootstrap.sh --tests` (make test) also installs what only the tests use: the Orfeo ToolBox,
# the real peer the classic filters are compared with (tests/test_classic_otb.py).
# Where the distribution has no such package, its tests skip (they check with apt-cache too).
TEST_APT_PACKAGES=(otb-bin)
if [ "${1:-}" = "--tests" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    for pkg in "${TEST_APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" && continue
        apt-cache show "$pkg" >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -q
        if apt-cache show "$pkg" >/dev/null 2>&1; then
            APT_PACKAGES+=("$pkg")
        else
            echo "bootstrap: this distribution has no $pkg; the tests that use it will skip"
        fi
    done
fi
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "bootstrap: installing ${missing[*]} with apt"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

export PYTHONNOUSERSITE=1
if [ ! -x .venv/bin/python ]; then
    /usr/bin/python3 -m venv --system-site-packages .venv
fi
stamp=.venv/.requirements-stamp
if [ ! -f "$stamp" ] || ! cmp -s <(cat requirements-dev.txt constraints.txt) "$stamp"; then
    .venv/bin/python -m pip install -q -c constraints.txt -r requirements-dev.txt
    cat requirements-dev.txt constraints.txt > "$stamp"
fi
# The engine as an editable package, so that `import s2v_plugin` finds this checkout from
# anywhere (training, bench, scripts, the command line). A .venv that is a link to another
# checkout's environment is shared: installing this checkout there would redirect the others.
if [ -L .venv ]; then
    echo "bootstrap: .venv is shared (a link), not installing this checkout into it"
elif ! (root="$PWD" && cd / && "$root/.venv/bin/python" -c "import pathlib, sys, s2v_plugin
sys.exit(pathlib.Path(s2v_plugin.__file__).resolve().parents[1] != pathlib.Path(sys.argv[1]))" "$root") 2>/dev/null; then
    .venv/bin/python -m pip install -q --no-build-isolation --no-deps -e .
fi
.venv/bin/python -c "import numpy, scipy, onnxruntime, osgeo.gdal, qgis.core; print('bootstrap: ready (numpy', numpy.__version__, ', onnxruntime', onnxruntime.__version__, ')')"
