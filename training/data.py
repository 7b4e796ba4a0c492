"""Training data: normalised single-look intensity scenes and random patches drawn from them.

Every scene is prepared exactly as the plugin's runtime prepares a raster
(:mod:`s2v_plugin.core.intensity_scale`, :mod:`s2v_plugin.core.point_targets`): divided by the
raster's robust scale, point targets found by the fixed local rule (ring median, false-alarm
probability ``point_target_pfa``) clipped to their local threshold in the network input and left
out of the loss, nodata set to 1 and left out of the loss. The mask never depends on the network,
so the network cannot learn to flag pixels to escape the loss. ``point_target_pfa = 0`` restores
the deprecated global rule (``point_target_factor`` times the median).

The pictures are remapped to the dynamic range of SAR (:mod:`training.dynamic_range`): random
tone curves, dark and bright regions with sharp edges, inserted scatterers.

Sources
-------
* ``white``: a patch of a clean CC0 scikit-image picture, remapped, times white single-look
  speckle, scatterers added after the speckle as deterministic targets (fresh for every patch).
* ``correlated``: the same pictures simulated as correlated SLC with random spectral shapes
  (:mod:`s2v_plugin.core.simulation`) and whitened by the plugin's decorrelator, so the network
  learns on the residuals it will see in use.
* ``raster``: SLC rasters (decorrelated by the plugin's decorrelator unless told they already are)
  or intensity rasters, read with :class:`s2v_plugin.io.raster_source.RasterSource`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from s2v_plugin.core.errors import InputError
from s2v_plugin.core.intensity_scale import scale_from_samples
from s2v_plugin.core.point_targets import DEFAULT_PFA, local_target_mask
from s2v_plugin.core.simulation import SpectralShape, simulate_correlated_slc
from s2v_plugin.io.raster_source import RasterSource
from training.dynamic_range import dynamic_range_scene
from training.heldout import EVAL_PICTURES  # noqa: F401  (re-exported)

LOG = logging.getLogger(__name__)

#: CC0 / public-domain pictures bundled with scikit-image (no download needed).
TRAIN_PICTURES = (
    "brick",
    "grass",
    "gravel",
    "text",
    "cell",
    "chelsea",
    "coffee",
    "page",
    "hubble_deep_field",
    "immunohistochemistry",
    "colorwheel",
    "shepp_logan_phantom",
    "horse",
    "microaneurysms",
)
#: The held-out evaluation pictures (:mod:`training.heldout`) are never trained on or calibrated
#: on; ``tests/test_training_data.py`` checks that no training picture shares their content
#: (scikit-image's ``cat`` is ``chelsea``, a training picture).
CLEAN_OFFSET = 0.03


@dataclass
class Scene:
    """A prepared scene: network input (normalised, point targets clipped, nodata = 1) and the
    loss mask (valid and not a point target)."""

    name: str
    image: np.ndarray  # float32 H x W
    mask: np.ndarray  # bool H x W
    isotropic: bool = False  # True when 90-degree rotations are legitimate augmentations


def load_config_pictures() -> list[tuple]:
    """The picture lists of the shipped training configurations (``training/configs``)."""
    import json
    from pathlib import Path

    folder = Path(__file__).resolve().parent / "configs"
    return [
        tuple(json.loads(p.read_text()).get("data", {}).get("pictures", TRAIN_PICTURES))
        for p in sorted(folder.glob("*.json"))
    ]


def grey_picture(name: str) -> np.ndarray:
    """A scikit-image picture as grey values on 0..1 (float64)."""
    from skimage import data
    from skimage.color import rgb2gray

    img = getattr(data, name)()
    if img.ndim == 3:
        img = rgb2gray(img[..., :3])
    img = np.asarray(img, dtype=np.float64)
    if img.max() > 1.0:
        img = img / 255.0
    return np.clip(img, 0.0, 1.0)


def clean_picture(name: str, contrast: str = "offset") -> np.ndarray:
    """A scikit-image picture as a clean intensity (float64).

    ``contrast``: ``"offset"``, amplitude = grey + 0.03 on 0..1 (about 30 dB), or ``"grey255"``,
    amplitude = grey + 1 on 0..255 (48 dB, the range of water, fields and towns in one scene).
    """
    grey = grey_picture(name)
    if contrast == "offset":
        return (grey + CLEAN_OFFSET) ** 2
    if contrast == "grey255":
        return (255.0 * grey + 1.0) ** 2
    raise ValueError(f"unknown contrast {contrast!r}")


def prepare_scene(
    intensity: np.ndarray,
    point_target_factor: float,
    name: str = "",
    isotropic: bool = False,
    point_target_pfa: float = DEFAULT_PFA,
    looks: float = 1.0,
) -> Scene:
    """Normalise an intensity array the way the runtime does and build the loss mask.

    With ``point_target_pfa > 0`` point targets come from the local rule
    (:func:`s2v_plugin.core.point_targets.local_target_mask`) and are clipped to their local
    threshold; otherwise from the deprecated global ``point_target_factor`` rule.
    """
    intensity = np.asarray(intensity, dtype=np.float32)
    valid = np.isfinite(intensity)
    scale = scale_from_samples(
        intensity[valid], point_target_factor, float(valid.mean()), point_target_pfa
    )
    y = np.where(valid, intensity / np.float32(scale.scale), np.float32(1.0))
    if point_target_pfa > 0:
        targets, threshold = local_target_mask(np.where(valid, y, np.nan), point_target_pfa, looks)
        y = np.where(targets, threshold, y)
    else:
        targets = valid & (intensity > scale.threshold)
        if np.isfinite(scale.threshold):
            y = np.minimum(y, np.float32(scale.threshold / scale.scale))
    return Scene(name, y.astype(np.float32), valid & ~targets, isotropic)


def random_shape(rng: np.random.Generator) -> SpectralShape:
    """A random SAR-like spectral shape (window, occupied band, centroid)."""
    return SpectralShape(
        window=float(rng.uniform(0.54, 1.0)),
        band_fraction=float(rng.uniform(0.6, 0.95)),
        centroid=float(rng.uniform(-0.5, 0.5)),
    )


def decorrelate(slc: np.ndarray, point_target_factor: float = 50.0) -> np.ndarray:
    """Whiten an SLC with the plugin's decorrelator (oversampling removed) and return intensity."""
    from s2v_plugin.decorrelate import decorrelate_array

    white, _ = decorrelate_array(slc, point_target_factor=point_target_factor)
    return (np.abs(white) ** 2).astype(np.float32)


def correlated_scene(
    clean: np.ndarray,
    rng: np.random.Generator,
    point_target_factor: float,
    name: str = "",
    point_target_pfa: float = DEFAULT_PFA,
) -> Scene:
    """Simulate a correlated SLC of ``clean``, decorrelate it, and prepare the intensity."""
    slc = simulate_correlated_slc(clean, rng, azimuth=random_shape(rng), range_=random_shape(rng))
    return prepare_scene(
        decorrelate(slc), point_target_factor, name, point_target_pfa=point_target_pfa
    )


def raster_scene(
    path: str,
    point_target_factor: float,
    band: int = 1,
    decorrelated: bool = False,
    amplitude: bool = False,
    point_target_pfa: float = DEFAULT_PFA,
) -> Scene:
    """A scene from a raster: complex bands are SLC (decorrelated here unless ``decorrelated``),
    real bands are intensity (or amplitude when ``amplitude``)."""
    with RasterSource(path, band) as src:
        data = src.read(0, 0, src.info.height, src.info.width)
        is_complex = src.info.is_complex
    if is_complex:
        intensity = (
            (np.abs(data) ** 2).astype(np.float32)
            if decorrelated
            else decorrelate(data, point_target_factor)
        )
    else:
        intensity = data**2 if amplitude else data
    return prepare_scene(
        intensity, point_target_factor, name=str(path), point_target_pfa=point_target_pfa
    )


@dataclass
class DataConfig:
    """What to train on: mixture weights of the sources and the raster list."""

    white: float = 0.35
    correlated: float = 0.35
    raster: float = 0.3
    rasters: tuple = ()
    decorrelated: bool = False
    amplitude: bool = False
    pictures: tuple = TRAIN_PICTURES
    correlated_pool: int = 2  # realisations per picture, refreshed during training
    point_target_factor: float = 50.0  # deprecated global rule, used when point_target_pfa is 0
    point_target_pfa: float = DEFAULT_PFA  # the local rule of the runtime
    gain_sigma: float = 0.25  # log-normal global gain augmentation
    dynamic_range: float = 0.0  # share of scenes and patches remapped by training.dynamic_range
    scatterer_density: float = 1e-3  # inserted scatterers per pixel (mean, when remapped)


class PatchSampler:
    """Random ``batch x 1 x patch x patch`` batches of (network input, loss mask)."""

    def __init__(self, cfg: DataConfig, seed: int = 0) -> None:
        self.cfg = cfg
        self.rng = np.random.default_rng(seed)
        self.grey = {n: grey_picture(n) for n in cfg.pictures} if cfg.pictures else {}
        self.clean = {n: clean_picture(n) for n in cfg.pictures} if cfg.pictures else {}
        self.correlated: list[Scene] = []
        if cfg.correlated > 0 and self.clean:
            for name in self.clean:
                for _ in range(cfg.correlated_pool):
                    self.correlated.append(self._correlated(name))
        self.rasters: list[Scene] = []
        for path in cfg.rasters:
            self.rasters.append(
                raster_scene(
                    path,
                    cfg.point_target_factor,
                    decorrelated=cfg.decorrelated,
                    amplitude=cfg.amplitude,
                    point_target_pfa=cfg.point_target_pfa,
                )
            )
            LOG.info("raster %s: %s pixels", path, self.rasters[-1].image.shape)
        weights = np.array(
            [
                cfg.white if self.clean else 0.0,
                cfg.correlated if self.correlated else 0.0,
                cfg.raster if self.rasters else 0.0,
            ]
        )
        if weights.sum() <= 0:
            raise ValueError("no training data: give rasters or enable simulated sources")
        self.weights = weights / weights.sum()

    def refresh(self) -> None:
        """Replace one correlated realisation by a fresh one (call now and then)."""
        if not self.correlated:
            return
        k = int(self.rng.integers(len(self.correlated)))
        self.correlated[k] = self._correlated(self.correlated[k].name)

    def _clean(self, grey: np.ndarray, fallback: np.ndarray | None = None):
        """A clean scene (mean 1) and its scatterers: remapped to SAR's dynamic range with
        probability ``dynamic_range``, else the picture as it is (``fallback`` or offset)."""
        if self.rng.random() < self.cfg.dynamic_range:
            return dynamic_range_scene(grey, self.rng, self.cfg.scatterer_density)
        clean = (grey + CLEAN_OFFSET) ** 2 if fallback is None else fallback
        empty = np.zeros(0, int)
        return clean / clean.mean(), (empty, empty, np.zeros(0))

    def _correlated(self, name: str, attempts: int = 5) -> Scene:
        """A fresh correlated realisation of picture ``name``. The decorrelator refuses some
        remapped scenes (its TOPS check sees a centroid sweep in scenes with large dark areas);
        they are redrawn, and the last attempt takes the picture as it is."""
        for attempt in range(attempts):
            if attempt < attempts - 1:
                clean, (rows, cols, values) = self._clean(self.grey[name], self.clean[name])
                clean = clean.copy()
                clean[rows, cols] += values  # speckled like everything else once in the SLC
            else:
                clean = self.clean[name] / self.clean[name].mean()
            try:
                return correlated_scene(
                    clean, self.rng, self.cfg.point_target_factor, name, self.cfg.point_target_pfa
                )
            except InputError as exc:
                LOG.info("correlated scene of %s redrawn: %s", name, str(exc)[:80])
        raise InputError(f"no correlated scene of {name} passed the decorrelator")

    @staticmethod
    def _pick(scenes: list[Scene], rng: np.random.Generator) -> Scene:
        # Weighted by pixel count, so every pixel is about equally likely to be trained on;
        # weighting by the number of crop positions would all but ignore scenes barely larger
        # than a patch.
        sizes = np.array([s.image.size for s in scenes], dtype=np.float64)
        return scenes[int(rng.choice(len(scenes), p=sizes / sizes.sum()))]

    def _crop(self, image: np.ndarray, mask: np.ndarray, patch: int):
        h, w = image.shape
        if h < patch or w < patch:  # mirror-pad small scenes
            ph, pw = max(patch - h, 0), max(patch - w, 0)
            image = np.pad(image, ((0, ph), (0, pw)), mode="reflect")
            mask = np.pad(mask, ((0, ph), (0, pw)), mode="constant")
            h, w = image.shape
        r = int(self.rng.integers(0, h - patch + 1))
        c = int(self.rng.integers(0, w - patch + 1))
        return image[r : r + patch, c : c + patch], mask[r : r + patch, c : c + patch]

    def _white_patch(self, patch: int):
        name = list(self.clean)[int(self.rng.integers(len(self.clean)))]
        if self.cfg.dynamic_range <= 0:  # version 1 sampling
            clean = self.clean[name]
            x, _ = self._crop(clean, np.ones(clean.shape, bool), patch)
            x = x / clean.mean()
            y = x * self.rng.exponential(1.0, x.shape)
            return y.astype(np.float32), np.ones(x.shape, bool), True
        grey, _ = self._crop(self.grey[name], np.ones(self.grey[name].shape, bool), patch)
        x, (rows, cols, values) = self._clean(grey)
        y = x * self.rng.exponential(1.0, x.shape)
        y[rows, cols] += values  # deterministic targets, not speckled
        scene = prepare_scene(
            y, self.cfg.point_target_factor, name, True, self.cfg.point_target_pfa
        )
        return scene.image, scene.mask, True

    def sample(self, batch: int, patch: int) -> tuple[np.ndarray, np.ndarray]:
        """A batch of normalised inputs and loss masks, both ``batch x 1 x patch x patch``."""
        ys = np.empty((batch, 1, patch, patch), np.float32)
        ms = np.empty((batch, 1, patch, patch), bool)
        for i in range(batch):
            source = int(self.rng.choice(3, p=self.weights))
            if source == 0:
                y, m, iso = self._white_patch(patch)
            else:
                scenes = self.correlated if source == 1 else self.rasters
                scene = self._pick(scenes, self.rng)
                y, m = self._crop(scene.image, scene.mask, patch)
                iso = scene.isotropic
            if self.rng.random() < 0.5:
                y, m = y[::-1], m[::-1]
            if self.rng.random() < 0.5:
                y, m = y[:, ::-1], m[:, ::-1]
            if iso and self.rng.random() < 0.5:
                y, m = y.T, m.T
            gain = float(np.exp(self.rng.normal(0.0, self.cfg.gain_sigma)))
            ys[i, 0] = y * gain
            ms[i, 0] = m
        return ys, ms
