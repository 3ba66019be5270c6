"""Seeded procedural renderer of cartoon-like but clearly face-like RGB images.

Every image is a pure function of one row of the attribute vector (``ATTRIBUTE_NAMES``):
identity attributes are drawn from ``(seed, identity_id)`` alone and per-image attributes
from ``(seed, identity_id, image_index)``, so identity ``k`` looks the same however many
identities are requested.  All geometry lives in normalised face coordinates (the frame
spans ``[-1, 1]`` in x and y at scale 1; the face centre is the origin), so a face rendered
at 32 px and at 128 px is the same face.

Rendering is vectorised over a batch of images and their pixels: each part of the face is
an approximate signed distance field turned into an anti-aliased coverage (a linear ramp
one pixel wide; strokes and dots thinner than a pixel keep their ink by widening to one
pixel and fading), and layers are composited back to front.  Pixel arithmetic uses only
correctly rounded float32 operations (+, -, *, /, sqrt, min, max), never reductions or
transcendental functions, so an image is bit-identical whatever batch it is rendered in;
per-image trigonometry is done once per image in Python.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ganinv.runtime import check_int

__all__ = [
    "ATTRIBUTE_NAMES",
    "BEARD_TYPES",
    "DISCRETE_ATTRIBUTES",
    "EYE_COLORS",
    "FaceSet",
    "GLASSES_COLORS",
    "GLASSES_TYPES",
    "HAIR_COLORS",
    "HAIR_STYLES",
    "IDENTITY_ATTRIBUTES",
    "IMAGE_ATTRIBUTES",
    "MAX_RESOLUTION",
    "MIN_RESOLUTION",
    "render_attributes",
    "render_faces",
    "render_split",
    "sample_attributes",
]

MIN_RESOLUTION = 32
MAX_RESOLUTION = 128

HAIR_STYLES = ("bald", "short", "long", "bob", "curly", "bun")
HAIR_COLORS = ("black", "dark_brown", "brown", "light_brown", "blond", "red", "grey")
EYE_COLORS = ("dark_brown", "brown", "hazel", "green", "blue", "grey")
BEARD_TYPES = ("none", "stubble", "full")
GLASSES_TYPES = ("none", "round", "square")
GLASSES_COLORS = ("black", "tortoise", "gold", "silver", "red", "blue")

IDENTITY_ATTRIBUTES: tuple[str, ...] = (
    "face_width",  # half-width of the face, face units
    "face_height",  # forehead-centre-to-chin depth of the lower face, face units
    "jaw_taper",  # 0 = round jaw, larger = narrower (V-shaped) chin
    "skin_tone",  # 0 = very light ... 1 = very dark
    "eye_color",  # index into EYE_COLORS
    "eye_spacing",  # half the distance between the eye centres
    "eye_size",  # multiplier
    "brow_thickness",  # stroke width, face units
    "nose_size",  # multiplier
    "mouth_width",  # half-width of the mouth, face units
    "lip_thickness",  # face units
    "ear_size",  # multiplier
    "hair_style",  # index into HAIR_STYLES
    "hair_color",  # index into HAIR_COLORS
    "hair_shade",  # -1 .. 1 lightness jitter of the hair colour
    "hair_volume",  # thickness of the hair above the scalp, face units
    "hairline",  # y of the hairline at the centre (more negative = higher forehead)
    "hair_part",  # -1 .. 1, tilt of the hairline
    "beard",  # index into BEARD_TYPES
    "glasses",  # index into GLASSES_TYPES
    "glasses_color",  # index into GLASSES_COLORS
)
IMAGE_ATTRIBUTES: tuple[str, ...] = (
    "yaw",  # -1 .. 1, head turned (features move right for positive values)
    "pitch",  # -1 .. 1, head tilted (features move down for positive values)
    "roll",  # in-plane rotation, radians
    "shift_x",  # translation of the face centre, frame units (frame = [-1, 1])
    "shift_y",
    "scale",  # zoom of the whole face
    "smile",  # -1 (frown) .. 1 (big smile)
    "mouth_open",  # 0 .. 1
    "eye_open",  # 0 (closed) .. ~1.15 (wide open)
    "light_angle",  # direction of the key light in the image plane, radians
    "light_strength",  # 0 (frontal, flat) .. 0.9 (grazing)
    "ambient",  # ambient light level
    "background_hue",
    "background_saturation",
    "background_value",
    "background_gradient_angle",  # radians
    "background_gradient",  # strength of the background gradient
    "shirt_hue",
    "shirt_value",
)
ATTRIBUTE_NAMES: tuple[str, ...] = IDENTITY_ATTRIBUTES + IMAGE_ATTRIBUTES
DISCRETE_ATTRIBUTES: tuple[str, ...] = (
    "eye_color",
    "hair_style",
    "hair_color",
    "beard",
    "glasses",
    "glasses_color",
)
_BATCH_PIXELS = 1 << 15
_COL = {name: i for i, name in enumerate(ATTRIBUTE_NAMES)}

# --------------------------------------------------------------------------- palettes (RGB 0..1)


def _palette(rgb255: Sequence[tuple[int, int, int]]) -> tuple[tuple[float, float, float], ...]:
    return tuple((r / 255.0, g / 255.0, b / 255.0) for r, g, b in rgb255)


_SKIN = _palette(
    [
        (255, 228, 206),
        (243, 202, 170),
        (228, 178, 138),
        (204, 146, 104),
        (170, 112, 76),
        (128, 82, 56),
        (92, 58, 42),
    ]
)
_HAIR = _palette(
    [
        (28, 24, 24),
        (62, 40, 28),
        (104, 68, 40),
        (150, 108, 66),
        (218, 182, 112),
        (168, 72, 34),
        (168, 166, 162),
    ]
)
_IRIS = _palette(
    [(62, 38, 24), (108, 66, 34), (120, 100, 52), (74, 116, 70), (70, 120, 178), (118, 132, 140)]
)
_FRAME = _palette(
    [(22, 22, 26), (98, 58, 30), (196, 160, 70), (176, 180, 186), (170, 34, 40), (34, 60, 140)]
)


@dataclass(frozen=True)
class FaceSet:
    """A batch of rendered faces with their identities and generating attributes."""

    images: np.ndarray  # uint8 [N, 3, H, W], RGB
    identity: np.ndarray  # int64 [N]
    attributes: np.ndarray  # float32 [N, len(ATTRIBUTE_NAMES)]
    attribute_names: tuple[str, ...] = ATTRIBUTE_NAMES

    def __len__(self) -> int:
        return int(self.images.shape[0])


# --------------------------------------------------------------------------- validation helpers
def _check_resolution(resolution: int) -> int:
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)):
        raise ValueError(
            f"resolution must be an int in {MIN_RESOLUTION}..{MAX_RESOLUTION}, got {resolution!r}"
        )
    if not MIN_RESOLUTION <= int(resolution) <= MAX_RESOLUTION:
        raise ValueError(
            f"resolution must be in {MIN_RESOLUTION}..{MAX_RESOLUTION}, got {resolution}"
        )
    return int(resolution)


def _check_seed(seed: int) -> int:
    return check_int("seed", seed, minimum=0, error=ValueError)


def _as_index_array(values: Sequence[int] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.equal(np.mod(arr, 1), 0)):
            raise ValueError(f"{name} must contain integers")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} must be non-negative")
    return arr


def _pick(u: float, probs: Sequence[float]) -> int:
    """Inverse-CDF choice of an index from one uniform number."""
    acc = 0.0
    total = float(sum(probs))
    for i, p in enumerate(probs):
        acc += p / total
        if u < acc:
            return i
    return len(probs) - 1


# --------------------------------------------------------------------------- attribute sampling
def _sample_identity(seed: int, identity_id: int) -> list[float]:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xFACE, 0, identity_id]))
    u = rng.random(32).tolist()  # fixed number of draws: stable if attributes are added later
    skin = u[3]
    style = _pick(u[12], (0.10, 0.24, 0.20, 0.16, 0.15, 0.15))
    if skin > 0.62:
        hair_color = _pick(u[13], (0.72, 0.22, 0.0, 0.0, 0.0, 0.0, 0.06))
        eye_color = _pick(u[4], (0.7, 0.3, 0.0, 0.0, 0.0, 0.0))
    else:
        hair_color = _pick(u[13], (0.16, 0.2, 0.2, 0.13, 0.14, 0.08, 0.09))
        eye_color = _pick(u[4], (0.18, 0.24, 0.16, 0.14, 0.18, 0.10))
    if HAIR_STYLES[style] in ("bald", "short", "curly"):
        beard = _pick(u[18], (0.5, 0.22, 0.28))
    else:
        beard = 0
    if HAIR_STYLES[style] == "bald" and hair_color in (4, 5) and u[22] < 0.5:
        hair_color = 6  # bald men with blond or red fringe are rare: go grey
    glasses = _pick(u[19], (0.62, 0.19, 0.19))
    hairline = -0.42 + 0.12 * u[16]
    if HAIR_STYLES[style] == "bald":
        hairline = -0.7
    values = {
        "face_width": 0.39 + 0.08 * u[0],
        "face_height": 0.56 + 0.11 * u[1],
        "jaw_taper": 0.05 + 0.3 * u[2],
        "skin_tone": skin,
        "eye_color": float(eye_color),
        "eye_spacing": 0.165 + 0.04 * u[5],
        "eye_size": 0.85 + 0.3 * u[6],
        "brow_thickness": 0.018 + 0.022 * u[7],
        "nose_size": 0.8 + 0.45 * u[8],
        "mouth_width": 0.115 + 0.05 * u[9],
        "lip_thickness": 0.014 + 0.014 * u[10],
        "ear_size": 0.85 + 0.3 * u[11],
        "hair_style": float(style),
        "hair_color": float(hair_color),
        "hair_shade": 2.0 * u[14] - 1.0,
        "hair_volume": 0.035 + 0.05 * u[15],
        "hairline": hairline,
        "hair_part": 2.0 * u[17] - 1.0,
        "beard": float(beard),
        "glasses": float(glasses),
        "glasses_color": float(_pick(u[20], (0.35, 0.2, 0.15, 0.12, 0.09, 0.09))),
    }
    return [values[name] for name in IDENTITY_ATTRIBUTES]


def _sample_image(seed: int, identity_id: int, image_index: int) -> list[float]:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xFACE, 1, identity_id, image_index]))
    u = rng.random(32).tolist()
    n = rng.standard_normal(8).tolist()

    def clip(v: float, lo: float, hi: float) -> float:
        return min(max(v, lo), hi)

    eye_open = 0.05 + 0.25 * u[4] if u[3] < 0.07 else 0.7 + 0.45 * u[4]
    values = {
        "yaw": clip(0.42 * n[0], -1.0, 1.0),
        "pitch": clip(0.38 * n[1], -1.0, 1.0),
        "roll": clip(0.09 * n[2], -0.26, 0.26),
        "shift_x": clip(0.045 * n[3], -0.11, 0.11),
        "shift_y": clip(0.045 * n[4], -0.11, 0.11),
        "scale": 1.0 + 0.2 * u[0],
        "smile": 2.0 * u[1] ** 0.75 - 1.0,
        "mouth_open": u[2] ** 2,
        "eye_open": eye_open,
        "light_angle": 2.0 * math.pi * u[5],
        "light_strength": 0.85 * u[6],
        "ambient": 0.42 + 0.3 * u[7],
        "background_hue": u[8],
        "background_saturation": 0.08 + 0.5 * u[9],
        "background_value": 0.3 + 0.65 * u[10],
        "background_gradient_angle": 2.0 * math.pi * u[11],
        "background_gradient": 0.6 * u[12],
        "shirt_hue": u[13],
        "shirt_value": 0.18 + 0.67 * u[14],
    }
    return [values[name] for name in IMAGE_ATTRIBUTES]


def sample_attributes(
    identity_ids: Sequence[int] | np.ndarray,
    image_indices: Sequence[int] | np.ndarray,
    seed: int,
) -> np.ndarray:
    """Attribute rows (float32 ``[N, len(ATTRIBUTE_NAMES)]``) for (identity, image) pairs."""
    seed = _check_seed(seed)
    ids = _as_index_array(identity_ids, "identity_ids")
    idx = _as_index_array(image_indices, "image_indices")
    if ids.shape != idx.shape:
        raise ValueError(
            f"identity_ids and image_indices must have the same length, got {ids.size} "
            f"and {idx.size}"
        )
    cache: dict[int, list[float]] = {}
    rows = []
    for k, i in zip(ids.tolist(), idx.tolist(), strict=True):
        ident = cache.get(k)
        if ident is None:
            ident = cache[k] = _sample_identity(seed, k)
        rows.append(ident + _sample_image(seed, k, i))
    out = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(ATTRIBUTE_NAMES))
    return out.astype(np.float32)


# --------------------------------------------------------------------------- per-image scalars
def _hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    return colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))


def _lerp_palette(palette, t: float) -> tuple[float, float, float]:
    t = min(max(t, 0.0), 1.0) * (len(palette) - 1)
    i = min(int(t), len(palette) - 2)
    f = t - i
    c0, c1 = palette[i], palette[i + 1]
    return (
        c0[0] + (c1[0] - c0[0]) * f,
        c0[1] + (c1[1] - c0[1]) * f,
        c0[2] + (c1[2] - c0[2]) * f,
    )


def _mix(c1, c2, t: float) -> tuple[float, float, float]:
    u = 1.0 - t
    return (c1[0] * u + c2[0] * t, c1[1] * u + c2[1] * t, c1[2] * u + c2[2] * t)


def _scale_color(c, f: float) -> tuple[float, float, float]:
    # colours and factors are non-negative: only the upper bound needs clamping
    return (min(c[0] * f, 1.0), min(c[1] * f, 1.0), min(c[2] * f, 1.0))


def _derive(row: np.ndarray) -> tuple[dict[str, float], dict[str, tuple[float, float, float]]]:
    """Turn one attribute row into the scalars and colours the pixel code needs."""
    a = dict(zip(ATTRIBUTE_NAMES, row.tolist(), strict=True))
    s: dict[str, float] = {}
    c: dict[str, tuple[float, float, float]] = {}
    yaw, pitch, smile = a["yaw"], a["pitch"], a["smile"]
    s["cos_r"], s["sin_r"] = math.cos(a["roll"]), math.sin(a["roll"])
    s["shift_x"], s["shift_y"] = a["shift_x"], a["shift_y"]
    s["inv_scale"] = 1.0 / a["scale"]
    dx, dy = 0.11 * yaw, 0.075 * pitch
    s["dx"], s["dy"] = dx, dy
    fw = a["face_width"] * (1.0 - 0.07 * abs(yaw))
    s["fw"] = fw
    s["fb_top"] = 0.56
    s["fb_bot"] = a["face_height"]
    s["taper"] = a["jaw_taper"]
    # eyes
    esz = a["eye_size"]
    ey = 0.03 + 0.9 * dy
    eopen = a["eye_open"] * (1.0 - 0.25 * max(smile, 0.0))
    spacing = a["eye_spacing"] * (1.0 - 0.1 * abs(yaw))
    for side, tag in ((-1.0, "l"), (1.0, "r")):
        fore = 1.0 - 0.28 * yaw * side  # far eye is foreshortened
        s[f"ex_{tag}"] = side * spacing + 0.95 * dx
        s[f"ew_{tag}"] = 0.085 * esz * fore
        s[f"brow_x_{tag}"] = side * (spacing + 0.01) + 0.95 * dx
        s[f"brow_len_{tag}"] = 0.095 * esz * fore
    s["ey"] = ey
    s["eh_top"] = 0.05 * esz * eopen
    s["eh_bot"] = 0.032 * esz * eopen
    s["iris_r"] = 0.04 * esz
    s["gaze"] = 0.02 * yaw
    s["brow_y"] = ey - 0.085 - 0.035 * esz - 0.015 * max(smile, 0.0)
    s["brow_t"] = a["brow_thickness"]
    s["brow_frown"] = 0.35 * max(-smile, 0.0)
    # nose
    nsz = a["nose_size"]
    s["nose_x"] = 1.25 * dx
    s["nose_y"] = 0.2 + 0.035 * (nsz - 1.0) + 1.15 * dy
    s["nose_w"] = 0.05 * nsz
    s["nose_top"] = ey + 0.02
    # mouth
    mw = a["mouth_width"] * (1.0 + 0.18 * max(smile, 0.0)) * (1.0 - 0.1 * abs(yaw))
    s["mouth_x"] = 1.05 * dx
    s["mouth_y"] = 0.37 + 0.03 * (a["face_height"] - 0.6) + dy
    s["mouth_w"] = mw
    s["mouth_bend"] = 0.065 * smile  # corners up for positive smile
    s["mouth_open"] = 0.09 * a["mouth_open"]
    s["lip_t"] = a["lip_thickness"]
    # ears (at the back of the head: move against the features)
    esz2 = a["ear_size"]
    s["ear_y"] = 0.1 - 0.5 * dy
    s["ear_a"] = 0.06 * esz2
    s["ear_b"] = 0.115 * esz2
    s["ear_xl"] = -(fw * 0.97) - 0.6 * dx
    s["ear_xr"] = (fw * 0.97) - 0.6 * dx
    # hair
    style = int(round(a["hair_style"]))
    s["style"] = float(style)
    vol = a["hair_volume"]
    s["hair_vol"] = vol
    s["hair_cx"] = -0.15 * dx
    s["hair_cy"] = -0.3 * dy
    s["hairline"] = a["hairline"] + 0.6 * dy
    s["hair_part"] = 0.12 * a["hair_part"]
    s["hair_px"] = 0.5 * dx
    # beard, glasses
    s["beard"] = (0.0, 0.42, 0.96)[int(round(a["beard"]))]
    gl = int(round(a["glasses"]))
    s["glasses_alpha"] = 1.0 if gl else 0.0
    s["glasses_square"] = 1.0 if gl == 2 else 0.0
    s["glasses_r"] = 0.125 * esz
    s["glasses_t"] = 0.016 + 0.012 * ((int(round(a["glasses_color"])) + 1) % 2)
    # lighting: direction in the image plane + elevation toward the viewer
    st = a["light_strength"]
    s["lx"] = math.cos(a["light_angle"]) * st
    s["ly"] = math.sin(a["light_angle"]) * st
    s["lz"] = math.sqrt(max(1.0 - st * st, 0.0))
    amb = a["ambient"]
    s["amb"] = amb
    s["diff"] = (1.08 - amb) / (0.55 + 0.45 * s["lz"])
    # background
    h, sat, val = a["background_hue"], a["background_saturation"], a["background_value"]
    g = a["background_gradient"]
    c["bg1"] = _hsv(h, sat, val * (1.0 - 0.45 * g))
    c["bg2"] = _hsv(h + 0.06 * g, sat * (1.0 - 0.4 * g), min(val * (1.0 + 0.6 * g), 1.0))
    s["bg_gx"] = 0.5 * math.cos(a["background_gradient_angle"])
    s["bg_gy"] = 0.5 * math.sin(a["background_gradient_angle"])
    # colours
    skin = _lerp_palette(_SKIN, a["skin_tone"])
    c["skin"] = skin
    c["skin_dark"] = _scale_color(skin, 0.82)
    c["ear_inner"] = _scale_color(skin, 0.7)
    c["neck"] = _scale_color(skin, 0.8)
    c["chin_shadow"] = _scale_color(skin, 0.45)
    c["nose_line"] = _scale_color(skin, 0.62)
    hc = _HAIR[int(round(a["hair_color"]))]
    hs = a["hair_shade"]
    hair = _scale_color(hc, 1.0 + 0.18 * hs)
    c["hair"] = hair
    c["hair_dark"] = _scale_color(hair, 0.72)
    c["brow"] = _mix(_scale_color(hair, 0.7), (0.12, 0.09, 0.08), 0.35 if hc[0] > 0.5 else 0.1)
    if style == 0:  # bald: brows keep a natural brown
        c["brow"] = _mix(_scale_color(hair, 0.6), (0.2, 0.14, 0.1), 0.5)
    c["beard"] = _mix(_scale_color(hair, 0.8), _scale_color(skin, 0.55), 0.15)
    red_lip = (0.72, 0.3, 0.32)
    c["lip"] = _mix(_scale_color(skin, 0.8), red_lip, 0.45 - 0.2 * a["skin_tone"])
    c["mouth_in"] = (0.3, 0.07, 0.09)
    c["teeth"] = (0.95, 0.93, 0.88)
    c["eye_white"] = (0.96, 0.95, 0.93)
    c["iris"] = _IRIS[int(round(a["eye_color"]))]
    c["pupil"] = (0.04, 0.03, 0.03)
    c["lid"] = _mix((0.08, 0.05, 0.05), skin, 0.15)
    c["frame"] = _FRAME[int(round(a["glasses_color"]))]
    c["lens"] = (0.75, 0.85, 0.95)
    c["shirt"] = _hsv(a["shirt_hue"], 0.55, a["shirt_value"])
    c["shirt_dark"] = _hsv(a["shirt_hue"], 0.6, a["shirt_value"] * 0.75)
    return s, c


# --------------------------------------------------------------------------- pixel primitives
_EPS = np.float32(1e-6)


def _ellipse_sd(dx, dy, a, b):
    """Approximate signed distance to an axis-aligned ellipse (first-order, f/|grad f|)."""
    ux = dx / a
    uy = dy / b
    k = np.sqrt(ux * ux + uy * uy)
    ux /= a
    uy /= b
    g = np.sqrt(ux * ux + uy * uy)
    g += _EPS
    k1 = k - 1.0
    k += _EPS * np.minimum(a, b)
    k1 *= k
    k1 /= g
    return k1


def _circle_sd(dx, dy, r):
    d = np.sqrt(dx * dx + dy * dy)
    d -= r
    return d


def _box_sd(dx, dy, hx, hy, rad):
    """Signed distance to a rounded box of half sizes (hx, hy) and corner radius rad."""
    qx = np.abs(dx) - (hx - rad)
    qy = np.abs(dy) - (hy - rad)
    ox = np.maximum(qx, 0.0)
    oy = np.maximum(qy, 0.0)
    out = np.sqrt(ox * ox + oy * oy)
    out += np.minimum(np.maximum(qx, qy), 0.0)
    out -= rad
    return out


def _segment_dist(x, y, ax, ay, bx, by):
    """Unsigned distance to the segment a-b (per-image endpoints)."""
    vx = bx - ax
    vy = by - ay
    inv = 1.0 / (vx * vx + vy * vy + _EPS)
    px = x - ax
    py = y - ay
    t = (px * vx + py * vy) * inv
    np.clip(t, 0.0, 1.0, out=t)
    px -= t * vx
    py -= t * vy
    return np.sqrt(px * px + py * py)


class _Canvas:
    """Premultiplied back-to-front compositing of coloured coverage layers.

    ``region`` gives a canvas over a rectangular window of the same pixels (views), so
    small parts are only evaluated where they can be non-zero.
    """

    def __init__(self, color: np.ndarray, alpha: np.ndarray, inv_px: np.ndarray):
        self.color = color
        self.alpha = alpha
        self.inv_px = inv_px

    def region(self, rows: slice, cols: slice) -> _Canvas:
        return _Canvas(self.color[:, :, rows, cols], self.alpha[:, rows, cols], self.inv_px)

    def fill(self, sd: np.ndarray) -> np.ndarray:
        """Coverage of the inside (sd < 0) of a signed distance field, 1 px ramp."""
        cov = sd * (-self.inv_px)
        cov += 0.5
        np.clip(cov, 0.0, 1.0, out=cov)
        return cov

    def stroke(self, dist: np.ndarray, width) -> np.ndarray:
        """Coverage of a stroke of the given width around ``dist == 0``; sub-pixel
        strokes are widened to one pixel and faded so they keep their ink."""
        px = 1.0 / self.inv_px
        w_eff = np.maximum(width, px)
        cov = (w_eff * 0.5 - dist) * self.inv_px
        cov += 0.5
        np.clip(cov, 0.0, 1.0, out=cov)
        cov *= width / w_eff
        return cov

    def dot(self, dx, dy, r) -> np.ndarray:
        """Coverage of a disc; discs smaller than a pixel keep their area."""
        px = 1.0 / self.inv_px
        r_eff = np.maximum(r, 0.5 * px)
        cov = self.fill(_circle_sd(dx, dy, r_eff))
        f = r / r_eff
        cov *= f * f
        return cov

    def over(self, cov: np.ndarray, color: np.ndarray, opacity=None, inner=False) -> None:
        """Composite ``color`` with coverage ``cov`` (times ``opacity``) over the canvas.

        ``inner=True`` marks parts that lie on opaque parts already (eyes on the face):
        the alpha channel is left alone, which is exact there and saves work.
        """
        if opacity is not None:
            cov *= opacity
        tmp = color - self.color
        tmp *= cov
        self.color += tmp
        if not inner:
            tmp = 1.0 - self.alpha
            tmp *= cov
            self.alpha += tmp


def _hair_style_sd(style, x, y, p, sd_face):
    """(back, front) signed distances of the hair of one style for a batch slice."""
    vol = p["hair_vol"]
    fw, bt = p["fw"], p["fb_top"]
    hx = x - p["hair_cx"]
    hy = y - p["hair_cy"]
    # the scalp-hugging outer shell of the hair
    outer = _ellipse_sd(hx, hy + 0.3 * vol, fw + vol, bt + 1.15 * vol)
    xp = x - p["hair_px"]
    hairline = p["hairline"] + 0.9 * xp * xp + p["hair_part"] * xp
    above = y - hairline  # < 0 above the hairline
    outside_face = -sd_face  # < 0 outside the face
    name = HAIR_STYLES[style]
    if name == "bald":
        band = np.maximum(np.abs(y - (p["ey"] - 0.06)) - 0.1, outside_face)
        front = np.maximum(outer + 0.25 * vol, band)
        return None, front
    if name == "short":
        sides = np.maximum(outside_face, y - (p["ey"] - 0.01))
        front = np.maximum(outer, np.minimum(above, sides))
        return None, front
    if name == "long":
        back = _ellipse_sd(hx, y - 0.12, fw + vol + 0.06, 0.9)
        sides = np.maximum(outside_face + 0.015, y - 0.55)
        front = np.maximum(outer, np.minimum(above, sides))
        return back, front
    if name == "bob":
        back = np.maximum(_ellipse_sd(hx, y + 0.04, fw + vol + 0.07, 0.64), y - 0.44)
        fringe = y - (p["hairline"] + 0.12 + 0.25 * xp * xp + 0.5 * p["hair_part"] * xp)
        sides = np.maximum(outside_face + 0.015, y - 0.44)
        front = np.maximum(outer, np.minimum(fringe, sides))
        return back, front
    if name == "curly":
        big_a = fw + 1.6 * vol + 0.03
        big_b = bt + 1.6 * vol + 0.03
        back = _ellipse_sd(hx, hy + 0.04, big_a - 0.04, big_b - 0.06)
        for k in range(11):
            ang = math.pi * (-0.1 + 1.2 * k / 10.0)  # from the right side over the top
            cx = big_a * (-math.cos(ang))
            cy = big_b * (-math.sin(ang)) - 0.04
            back = np.minimum(back, _circle_sd(hx - cx, hy - cy, 0.11 + 0.5 * vol))
        sides = np.maximum(outside_face, y - (p["ey"] + 0.02))
        front = np.maximum(back + 0.02, np.minimum(above, sides))
        return back, front
    if name == "bun":
        back = _circle_sd(hx, hy + bt + 0.5 * vol + 0.05, 0.11 + vol)
        sides = np.maximum(outside_face, y - (p["ey"] - 0.04))
        front = np.maximum(outer + 0.3 * vol, np.minimum(above, sides))
        return back, front
    raise AssertionError(name)


def _render_batch(
    s_list: list[dict[str, float]],
    c_list: list[dict[str, tuple[float, float, float]]],
    res: int,
) -> np.ndarray:
    n = len(s_list)
    f32 = np.float32
    p = {k: np.array([s[k] for s in s_list], dtype=f32).reshape(n, 1, 1) for k in s_list[0]}
    col = {k: np.array([c[k] for c in c_list], dtype=f32).T.reshape(3, n, 1, 1) for k in c_list[0]}
    grid = ((np.arange(res, dtype=f32) + f32(0.5)) * f32(2.0 / res) - f32(1.0)).astype(f32)
    gx = grid.reshape(1, 1, res)
    gy = grid.reshape(1, res, 1)
    # frame -> face coordinates (roll about the face centre, then zoom)
    x0 = gx - p["shift_x"]
    y0 = gy - p["shift_y"]
    x = (x0 * p["cos_r"] + y0 * p["sin_r"]) * p["inv_scale"]
    y = (y0 * p["cos_r"] - x0 * p["sin_r"]) * p["inv_scale"]
    px = (f32(2.0 / res) * p["inv_scale"]).astype(f32)
    canvas = _Canvas(
        np.zeros((3, n, res, res), dtype=f32), np.zeros((n, res, res), dtype=f32), 1.0 / px
    )

    # Windows: pixel rectangles (union over the batch) outside of which a group of parts
    # has exactly zero coverage; face-coordinate boxes below are conservative bounds.
    wc = np.array([s["cos_r"] for s in s_list])[:, None]
    ws = np.array([s["sin_r"] for s in s_list])[:, None]
    wz = 1.0 / np.array([s["inv_scale"] for s in s_list])[:, None]
    wx = np.array([s["shift_x"] for s in s_list])[:, None]
    wy = np.array([s["shift_y"] for s in s_list])[:, None]

    def window(bx0: float, bx1: float, by0: float, by1: float):
        cx = np.array([bx0, bx1, bx0, bx1])[None, :]
        cy = np.array([by0, by0, by1, by1])[None, :]
        fx = wx + wz * (wc * cx - ws * cy)
        fy = wy + wz * (ws * cx + wc * cy)
        c0 = max(int(math.floor((fx.min() + 1.0) * res / 2 - 0.5)) - 2, 0)
        c1 = min(int(math.ceil((fx.max() + 1.0) * res / 2 - 0.5)) + 3, res)
        r0 = max(int(math.floor((fy.min() + 1.0) * res / 2 - 0.5)) - 2, 0)
        r1 = min(int(math.ceil((fy.max() + 1.0) * res / 2 - 0.5)) + 3, res)
        rows, cols = slice(r0, max(r0, r1)), slice(c0, max(c0, c1))
        return x[:, rows, cols], y[:, rows, cols], canvas.region(rows, cols), (rows, cols)

    dx = p["dx"]
    fw = p["fw"]

    # ---- face shape (needed by several layers)
    t = np.clip(y / p["fb_bot"], 0.0, 1.0)
    xs = (x - dx * 0.35 * t) / (1.0 - p["taper"] * t * t)
    b = np.where(y < 0.0, p["fb_top"], p["fb_bot"])
    sd_face = _ellipse_sd(xs, y, fw, b)

    # ---- shirt and shoulders
    xx, yy, cv, _ = window(-3.0, 3.0, 0.5, 3.0)
    sh = _ellipse_sd(xx + 0.2 * dx, yy - 1.36, 1.02, 0.64)
    neckline = _ellipse_sd(xx + 0.2 * dx, yy - 0.8, 0.22, 0.16)
    cv.over(cv.fill(np.maximum(sh, -neckline)), col["shirt"])
    cv.over(cv.stroke(np.abs(neckline), 0.03), col["shirt_dark"], cv.fill(sh))

    # ---- hair, per style (the batch is sorted by style)
    styles = p["style"].reshape(-1).astype(np.int64)
    hair_back = np.full_like(x, 10.0)
    hair_front = np.full_like(x, 10.0)
    start = 0
    while start < n:
        st = int(styles[start])
        stop = start
        while stop < n and styles[stop] == st:
            stop += 1
        sl = slice(start, stop)
        ps = {k: v[sl] for k, v in p.items()}
        back, front = _hair_style_sd(st, x[sl], y[sl], ps, sd_face[sl])
        if back is not None:
            hair_back[sl] = back
        hair_front[sl] = front
        start = stop
    canvas.over(canvas.fill(hair_back), col["hair_dark"])

    # ---- neck with the chin's shadow
    xx, yy, cv, win = window(-0.45, 0.45, 0.2, 3.0)
    neck = _box_sd(xx + 0.25 * dx, yy - 0.8, 0.235 * fw / 0.43, 0.55, 0.08)
    cv.over(cv.fill(neck), col["neck"])
    shadow = _ellipse_sd(xs[:, win[0], win[1]], yy - 0.07, fw * 0.95, b[:, win[0], win[1]])
    cv.over(cv.fill(np.maximum(shadow, neck)), col["chin_shadow"], f32(0.55))

    # ---- ears
    xx, yy, cv, _ = window(-0.7, 0.7, -0.12, 0.32)
    for tag in ("l", "r"):
        ex = xx - p[f"ear_x{tag}"]
        ey = yy - p["ear_y"]
        cv.over(cv.fill(_ellipse_sd(ex, ey, p["ear_a"], p["ear_b"])), col["skin_dark"])
        inner = _ellipse_sd(ex, ey + 0.01, p["ear_a"] * 0.5, p["ear_b"] * 0.6)
        cv.over(cv.fill(inner), col["ear_inner"], f32(0.6), inner=True)

    # ---- face
    xx, yy, cv, win = window(-0.55, 0.55, -0.62, 0.76)
    sdf = sd_face[:, win[0], win[1]]
    cv.over(cv.fill(sdf), col["skin"])

    # ---- beard / stubble: lower face below a line that rises towards the ears
    bx = xx - p["mouth_x"]
    beard_top = np.maximum(p["mouth_y"] - 0.07 - 0.6 * bx * bx, p["nose_y"] + 0.01)
    beard = np.maximum(sdf - 0.012, beard_top - yy)
    mouth_hole = _ellipse_sd(
        bx,
        yy - p["mouth_y"] - 0.5 * p["mouth_open"],
        p["mouth_w"] * 0.95,
        0.03 + 0.6 * p["mouth_open"],
    )
    beard = np.maximum(beard, -mouth_hole)
    cv.over(cv.fill(beard), col["beard"], p["beard"])

    # ---- nose: shadow line on one side, nostril arc
    xx, yy, cv, _ = window(-0.32, 0.32, -0.1, 0.33)
    nxo = xx - p["nose_x"]
    side = np.where(p["lx"] > 0, f32(-1.0), f32(1.0))  # shadow away from the light
    d = _segment_dist(
        nxo, yy, side * 0.02, p["nose_top"], side * p["nose_w"] * 0.75, p["nose_y"] - 0.03
    )
    cv.over(cv.stroke(d, 0.018), col["nose_line"], f32(0.35), inner=True)
    ny = yy - p["nose_y"]
    nw = p["nose_w"]
    arc = np.maximum(np.abs(ny + 1.6 * nxo * nxo - 0.012), np.abs(nxo) - nw)
    cv.over(cv.stroke(arc, 0.02), col["nose_line"], f32(0.75), inner=True)
    for sgn in (-1.0, 1.0):
        cov = cv.fill(_ellipse_sd(nxo - sgn * 0.55 * nw, ny + 0.004, 0.22 * nw, 0.12 * nw))
        cv.over(cov, col["nose_line"], f32(0.8), inner=True)

    # ---- mouth: lens between two parabolas, bent by the smile
    xx, yy, cv, _ = window(-0.38, 0.38, 0.15, 0.7)
    mx = xx - p["mouth_x"]
    my = yy - p["mouth_y"]
    w = p["mouth_w"]
    q = mx / w
    q = q * q
    tq = 1.0 - q
    centre = my + p["mouth_bend"] * q - 0.3 * p["mouth_bend"]
    op = p["mouth_open"]
    lip_t = p["lip_t"]
    corner = np.abs(mx) - w
    upper_lip = np.maximum(np.maximum(-(centre + (0.35 * op + lip_t * 1.1) * tq), centre), corner)
    lower_lip = np.maximum(np.maximum(centre - (op + lip_t * 1.3) * tq, -centre), corner - 0.004)
    cv.over(cv.fill(np.minimum(upper_lip, lower_lip)), col["lip"], inner=True)
    opening = np.maximum(np.maximum(-(centre + 0.35 * op * tq), centre - op * tq), corner)
    cv.over(cv.fill(opening), col["mouth_in"], inner=True)
    line = np.maximum(np.abs(centre - 0.3 * op * tq), corner + 0.004)
    cv.over(cv.stroke(line, 0.012), col["mouth_in"], f32(0.8), inner=True)
    teeth = np.maximum(opening, centre + 0.35 * op * tq - 0.4 * op - 0.01)
    cv.over(cv.fill(teeth), col["teeth"], inner=True)

    # ---- eyes and brows, one window per side
    eye_boxes = {"l": (-0.56, 0.18, -0.32, 0.24), "r": (-0.18, 0.56, -0.32, 0.24)}
    for tag, sgn in (("l", -1.0), ("r", 1.0)):
        xx, yy, cv, _ = window(*eye_boxes[tag])
        ex = xx - p[f"ex_{tag}"]
        ey = yy - p["ey"]
        ew = p[f"ew_{tag}"]
        q = ex / ew
        q = 1.0 - q * q
        top = -(ey + p["eh_top"] * q)
        bot = ey - p["eh_bot"] * q
        corner = np.abs(ex) - ew
        eye = np.maximum(np.maximum(top, bot), corner)
        white = cv.fill(eye)
        cv.over(white.copy(), col["eye_white"], inner=True)
        ix = ex - p["gaze"]
        iy = ey + 0.004
        cov = cv.dot(ix, iy, p["iris_r"])
        cov *= white
        cv.over(cov, col["iris"], inner=True)
        cov = cv.dot(ix, iy, p["iris_r"] * 0.45)
        cov *= white
        cv.over(cov, col["pupil"], inner=True)
        cov = cv.dot(ix + 0.35 * p["iris_r"], iy + 0.35 * p["iris_r"], p["iris_r"] * 0.22)
        cov *= white
        cv.over(cov, col["eye_white"], f32(0.9), inner=True)
        # upper lid line
        lid = np.maximum(np.abs(top + 0.004), corner + 0.002)
        cv.over(cv.stroke(lid, 0.016), col["lid"], inner=True)
        # brow: arched stroke, inner end lowered when frowning
        bxo = xx - p[f"brow_x_{tag}"]
        blen = p[f"brow_len_{tag}"]
        rel = bxo / blen
        by = (yy - p["brow_y"]) - 1.8 * bxo * bxo
        by -= p["brow_frown"] * 0.06 * (-sgn * rel)
        by -= 0.012 * sgn * rel  # outer end slightly lower
        dist = np.maximum(np.abs(by), np.abs(bxo) - blen)
        width = p["brow_t"] * (1.0 - 0.35 * sgn * rel)
        cv.over(cv.stroke(dist, width), col["brow"], inner=True)

    # ---- hair in front (fringe, cap, side curtains)
    canvas.over(canvas.fill(hair_front), col["hair"])

    # ---- glasses: tinted lenses, rims and the bridge
    ga = p["glasses_alpha"]
    if np.any(ga > 0):
        sq = p["glasses_square"]
        r = p["glasses_r"]
        half_w = {}
        for tag in ("l", "r"):
            xx, yy, cv, _ = window(*eye_boxes[tag])
            lx = xx - p[f"ex_{tag}"]
            ly = yy - p["ey"] - 0.01
            fore = p[f"ew_{tag}"] / (0.085 * (r / 0.125))
            half_w[tag] = r * fore
            rnd = _ellipse_sd(lx, ly, r * fore, r * 0.85)
            box = _box_sd(lx, ly, r * fore * 1.02, r * 0.78, 0.03)
            lens = rnd + sq * (box - rnd)
            cv.over(cv.fill(lens), col["lens"], ga * 0.18, inner=True)
            cv.over(cv.stroke(np.abs(lens), p["glasses_t"]), col["frame"], ga)
        xx, yy, cv, _ = window(-0.3, 0.3, -0.15, 0.1)
        bridge_y = p["ey"] - 0.02
        d = _segment_dist(
            xx, yy, p["ex_l"] + half_w["l"], bridge_y, p["ex_r"] - half_w["r"], bridge_y
        )
        cv.over(cv.stroke(d, p["glasses_t"]), col["frame"], ga)

    # ---- light: pseudo-sphere normals of the head, Lambert + ambient
    u = (x - p["hair_cx"]) / (fw * 1.15)
    v = (y + 0.05) / (p["fb_top"] * 1.15)
    r2 = u * u + v * v
    nz = np.sqrt(np.maximum(1.0 - r2, 0.0))
    inv = 1.0 / np.sqrt(np.maximum(r2, 1.0))
    lam = (u * p["lx"] + v * p["ly"]) * inv + nz * p["lz"]
    shade = np.maximum(lam, 0.0) * p["diff"] + p["amb"]
    canvas.color *= shade

    # ---- background: linear gradient in frame coordinates
    tb = np.clip(gx * p["bg_gx"] + gy * p["bg_gy"] + 0.5, 0.0, 1.0)
    bg = col["bg1"] + (col["bg2"] - col["bg1"]) * tb
    bg *= 1.0 - canvas.alpha
    img = canvas.color + bg
    img *= 255.0
    np.clip(img, 0.0, 255.0, out=img)
    np.rint(img, out=img)
    return img.astype(np.uint8).transpose(1, 0, 2, 3)


def render_attributes(
    attributes: np.ndarray,
    resolution: int,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Render uint8 ``[N, 3, H, W]`` images, one per attribute row (``ATTRIBUTE_NAMES`` order).

    The image is a pure function of the row and the resolution.
    """
    res = _check_resolution(resolution)
    attrs = np.asarray(attributes, dtype=np.float32)
    if attrs.ndim != 2 or attrs.shape[1] != len(ATTRIBUTE_NAMES):
        raise ValueError(
            f"attributes must have shape [N, {len(ATTRIBUTE_NAMES)}], got {attrs.shape}"
        )
    n = attrs.shape[0]
    out = np.empty((n, 3, res, res), dtype=np.uint8)
    if n == 0:
        return out
    # Sort by hair style so each style is a contiguous slice of a batch; the order does
    # not change any image (all pixel arithmetic is elementwise).
    order = np.argsort(attrs[:, _COL["hair_style"]], kind="stable")
    batch = max(1, _BATCH_PIXELS // (res * res))
    done = 0
    for start in range(0, n, batch):
        idx = order[start : start + batch]
        derived = [_derive(attrs[i]) for i in idx]
        out[idx] = _render_batch([d[0] for d in derived], [d[1] for d in derived], res)
        done += len(idx)
        if progress is not None:
            progress(done, n)
    return out


def render_faces(
    identity_ids: Sequence[int] | np.ndarray,
    image_indices: Sequence[int] | np.ndarray,
    resolution: int,
    seed: int,
) -> FaceSet:
    """Render one image per ``(identity_ids[i], image_indices[i])`` pair."""
    res = _check_resolution(resolution)
    attrs = sample_attributes(identity_ids, image_indices, seed)
    images = render_attributes(attrs, res)
    ids = _as_index_array(identity_ids, "identity_ids")
    return FaceSet(images=images, identity=ids, attributes=attrs, attribute_names=ATTRIBUTE_NAMES)


def render_split(
    first_identity: int,
    n_identities: int,
    images_per_identity: int,
    resolution: int,
    seed: int,
    progress: Callable[[int, int], None] | None = None,
) -> FaceSet:
    """Identities ``first_identity .. first_identity + n_identities - 1``, images
    ``0 .. images_per_identity - 1`` of each, identity-major order."""
    res = _check_resolution(resolution)
    for name, value, lo in (
        ("first_identity", first_identity, 0),
        ("n_identities", n_identities, 1),
        ("images_per_identity", images_per_identity, 1),
    ):
        check_int(name, value, minimum=lo, error=ValueError)
    ids = np.repeat(
        np.arange(first_identity, first_identity + n_identities, dtype=np.int64),
        images_per_identity,
    )
    idx = np.tile(np.arange(images_per_identity, dtype=np.int64), n_identities)
    attrs = sample_attributes(ids, idx, seed)
    if progress is not None:
        progress(0, len(ids))
    images = render_attributes(attrs, res, progress=progress)
    return FaceSet(images=images, identity=ids, attributes=attrs, attribute_names=ATTRIBUTE_NAMES)
