"""GAN inversion: recover latents ``z`` with ``G(z) ~ x`` by gradient descent, an encoder, or both.

Methods
-------
* ``gd`` (:func:`invert_gd`): optimise ``z`` from a random (or given) initial point. Thesis
  settings for faces: Adam, lr 0.01, 200 iterations, pixel MAE, ``z0 ~ N(0, 1)``, all targets
  of a split in one batch. Optional *stochastic clipping* (Lipton & Tripathi 2017): after every
  step the entries of ``z`` outside ``[-1, 1]`` are resampled uniformly in ``[-1, 1]`` and the
  resampled values are written back into the optimised tensor (the authors' code computed the
  clipped tensor but never assigned it).
* ``encoder`` (:func:`invert_encoder`): one forward pass of an encoder network ``E(x) -> z``.
* ``hybrid`` (:func:`invert_hybrid`): the encoder's prediction is the initial point of ``k`` GD
  steps (thesis ``k = 50``).

:func:`invert` runs one method with its :class:`InversionSettings`, which
:meth:`InversionSettings.from_mapping` builds from a method's config mapping (checking every key).

Conventions
-----------
* ``loss_fn(reconstructions, targets)`` returns a per-sample loss ``[N]``; the optimised
  objective is ``loss_fn(...).sum()``, so each sample's gradient is its own. With Adam (an
  elementwise optimiser) a batch run therefore equals running the samples one at a time, and a
  chunked run equals an unchunked one, up to floating-point noise. This needs a generator whose
  output for one sample does not depend on the rest of the batch (true for ProGAN in eval mode).
* With ``optimizer="lbfgs"`` (``torch.optim.LBFGS``, strong-Wolfe line search, one quasi-Newton
  iteration per "iteration") the samples of a batch/chunk are *not* independent: L-BFGS is a
  full-batch method whose curvature estimate and line search use the summed objective, so the
  result depends on which samples share a chunk (chunked != unchunked). One L-BFGS iteration may
  evaluate the generator several times (line search); ``loss_curve`` records the accepted iterates.
* The generator and encoder are put in eval mode with ``requires_grad=False`` on their parameters
  during the inversion; both the mode and the flags are restored afterwards. Parameters are never
  updated. The modules must already live on ``device`` (default: the generator's device).
* Initial latents are drawn for all ``N`` targets at once from a CPU ``torch.Generator`` seeded
  with ``seed``; the stochastic-clipping noise of step ``t`` is drawn from CPU generators seeded
  by ``(seed, t, block of 64 rows)``. Results therefore do not depend on chunking or device.
* Timing: wall time (``time.perf_counter``) and process CPU time (``time.process_time``, all
  threads) of the whole inversion after one untimed warm-up pass on one target (first calls pay
  one-off set-up costs); on CUDA the device is synchronised before reading the clocks. Wall time
  beside CPU time tells disturbance (other processes on the same cores) from cost;
  :mod:`ganinv.timing` repeats these calls, undisturbed, for the tables.
* Non-finite losses: a sample whose loss becomes non-finite at iteration ``t`` (row ``t`` of
  ``loss_curve``) stops there: ``stopped_at = t``, its loss is NaN from row ``t`` on and in
  ``loss``, and its latent is frozen at the last iterate whose loss was finite (``z_{t-1}``, or the
  initial point when ``t = 0``); the other samples continue unaffected. Adam keeps moving a
  parameter through its momentum even with a zero gradient, so frozen rows are restored after
  every step. With L-BFGS the handling is coarser: (a) a non-finite *gradient* also stops a
  sample (at the iterate where it appears, although its loss there was finite); (b) at line-search
  trial points non-finite samples are simply left out of the objective, so the search may accept
  an iterate where a sample is non-finite, which then stops at the next iteration; (c) whenever a
  sample stops, the L-BFGS history is reset, because the objective (the sum over the remaining
  samples) changed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ganinv.progress import progress
from ganinv.runtime import UserError, check_int, derive_seed, device_description
from ganinv.sample import draw_latents

__all__ = [
    "LossFn",
    "InversionResult",
    "InversionSettings",
    "pixel_mae",
    "invert_gd",
    "invert_encoder",
    "invert_hybrid",
    "stochastic_clip_",
    "INITS",
    "METHODS",
    "invert",
    "OPTIMIZERS",
]

log = logging.getLogger("ganinv")

LossFn = Callable[[Tensor, Tensor], Tensor]  # (reconstructions, targets) -> per-sample loss [N]
TrackFn = Callable[[Tensor, Tensor], Tensor]  # (reconstructions, targets) -> per-sample metric [N]

INITS = ("normal", "uniform")
OPTIMIZERS = ("adam", "lbfgs")
CLIP_BLOCK_ROWS = 64  # rows of clipping noise drawn per seeded generator (chunking-invariant)
LBFGS_MAX_LINE_SEARCH = 25  # function evaluations allowed per L-BFGS line search


@dataclass
class InversionResult:
    """Outcome of one inversion run (all tensors on the CPU)."""

    z: Tensor  # [N, z_dim] float32: recovered latents
    reconstructions: Tensor  # [N, C, H, W] float32: G(z), in the generator's output range
    loss: Tensor  # [N] final per-sample loss (NaN where it became non-finite)
    loss_curve: Tensor  # [iterations + 1, N] loss before the first step and after every step
    stopped_at: Tensor  # [N] int64: -1, or the iteration at which the loss became non-finite
    seconds_total: float  # wall time of the timed region (see the module docstring)
    seconds_per_target: float  # seconds_total / N (per image or per clip)
    cpu_seconds_total: float  # process (CPU) time of the same region, all threads
    device: str
    method: str  # "gd" | "encoder" | "hybrid"
    # [iterations + 1, N]: ``track_fn(reconstructions, targets)`` at the same points as
    # ``loss_curve`` (e.g. PSNR), or None when no track_fn was given. NaN where not measured.
    track_curve: Tensor | None = None


METHODS = ("gd", "encoder", "hybrid")
# The settings each method takes from its config mapping (the other fields keep their defaults).
_GD_STEPS = ("iterations", "lr", "stochastic_clipping", "clip_bound", "optimizer")
_METHOD_KEYS = {
    "gd": (*_GD_STEPS, "init", "perceptual_weight"),
    "encoder": ("perceptual_weight",),
    "hybrid": (*_GD_STEPS, "perceptual_weight"),
}
_REQUIRED_KEYS = ("iterations", "lr")  # of gd and hybrid


@dataclass(frozen=True, kw_only=True)
class InversionSettings:
    """One inversion method with its settings, checked when made.

    ``iterations``, ``lr``, ``stochastic_clipping``, ``clip_bound`` and ``optimizer`` are the GD
    steps of gd and hybrid; ``init`` is gd's random start (the hybrid starts at the encoder's
    prediction). ``perceptual_weight`` is the weight of the perceptual term that a chapter adds
    to its loss (the face chapter; :func:`invert` itself takes the loss as ``loss_fn``). Fields
    a method does not use keep their defaults.
    """

    method: str
    iterations: int = 0
    lr: float = 0.01
    init: str = "normal"
    stochastic_clipping: bool = False
    clip_bound: float = 1.0
    optimizer: str = "adam"
    perceptual_weight: float = 0.0

    def __post_init__(self) -> None:
        _check_method(self.method)
        try:
            _check_gd_args(self.iterations, self.lr, self.optimizer)
            _check_bound(self.clip_bound)
            _check_init(self.init)
            if not isinstance(self.stochastic_clipping, bool):
                raise UserError(
                    f"stochastic_clipping must be true or false, got {self.stochastic_clipping!r}"
                )
            if not float(self.perceptual_weight) >= 0.0:
                raise UserError(f"perceptual_weight must be >= 0, got {self.perceptual_weight}")
        except UserError as error:
            raise UserError(f"{self.method} settings: {error}") from None

    @classmethod
    def from_mapping(cls, *, method: str, settings: Mapping[str, object]) -> InversionSettings:
        """The settings of ``method`` from its config mapping (gd: iterations, lr and optionally
        init, stochastic_clipping, clip_bound, optimizer, perceptual_weight; hybrid: the same
        without init; encoder: optionally perceptual_weight). A key the method does not take, a
        missing one or a value of the wrong type is a :class:`UserError` that names it."""
        _check_method(method)
        if not isinstance(settings, Mapping):
            raise UserError(f"the {method} settings must be a mapping, got {settings!r}")
        allowed = _METHOD_KEYS[method]
        for key in settings:
            if key not in allowed:
                takes = ", ".join(allowed)
                raise UserError(f"method '{method}' has no setting '{key}' (it takes: {takes})")
        if method != "encoder":
            for key in _REQUIRED_KEYS:
                if key not in settings:
                    raise UserError(f"method '{method}' needs the setting '{key}'")
        return cls(method=method, **{key: _setting(method, key, settings[key]) for key in settings})


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise UserError(f"unknown inversion method '{method}': use one of {', '.join(METHODS)}")


# The type of each setting in a config mapping: how _setting checks and converts it.
_SETTING_TYPES = {
    "iterations": "integer", "lr": "number", "init": "string", "stochastic_clipping": "boolean",
    "clip_bound": "number", "optimizer": "string", "perceptual_weight": "number",
}  # fmt: skip


def _setting(method: str, key: str, value: object) -> object:
    """``value`` checked against (and converted to) the type of setting ``key``."""
    kind = _SETTING_TYPES[key]
    if kind == "integer":
        return check_int(f"{method} setting '{key}'", value, minimum=None)
    if isinstance(value, bool):
        ok = kind == "boolean"
    else:
        ok = (kind == "number" and isinstance(value, (int, float))) or (
            kind == "string" and isinstance(value, str)
        )
    if not ok:
        raise UserError(f"{method} setting '{key}' must be a {kind}, got {value!r}")
    return float(value) if kind == "number" else value


# --------------------------------------------------------------------------------------------
# Losses and stochastic clipping
# --------------------------------------------------------------------------------------------
def pixel_mae(reconstructions: Tensor, targets: Tensor) -> Tensor:
    """Per-sample mean absolute error ``mean |x - y|`` over all non-batch dimensions: ``[N]``."""
    if reconstructions.shape != targets.shape:
        raise UserError(
            f"reconstructions {tuple(reconstructions.shape)} and targets "
            f"{tuple(targets.shape)} differ in shape (wrong resolution or channel count?)"
        )
    return (reconstructions - targets).abs().flatten(1).mean(dim=1)


def stochastic_clip_(
    z: Tensor, *, generator: torch.Generator | None = None, bound: float = 1.0
) -> Tensor:
    """Resample, in place, the entries of ``z`` outside ``[-bound, bound]`` from U[-bound, bound].

    Entries inside the interval are left untouched. A uniform value is drawn for *every* entry
    (from ``generator`` on its own device, then moved to ``z``'s device) so the random stream
    consumed does not depend on how many entries are out of range. Returns ``z``.
    """
    bound = _check_bound(bound)
    gen_device = generator.device if generator is not None else z.device
    uniform01 = torch.rand(z.shape, generator=generator, device=gen_device, dtype=z.dtype)
    return _resample_outside_(z, uniform01, bound)


def _check_bound(bound: float) -> float:
    bound = float(bound)
    if not bound > 0.0:
        raise UserError(f"the stochastic clipping bound must be positive: clip_bound = {bound}")
    return bound


def _resample_outside_(z: Tensor, uniform01: Tensor, bound: float) -> Tensor:
    with torch.no_grad():
        noise = uniform01.to(device=z.device, dtype=z.dtype).mul(2.0 * bound).sub(bound)
        z.copy_(torch.where(z.abs() > bound, noise, z))
    return z


def _clip_uniform01(seed: int, step: int, start: int, stop: int, z_dim: int) -> Tensor:
    """U[0, 1) noise [stop - start, z_dim] for rows start..stop of step ``step`` (CPU).

    Rows come in blocks of :data:`CLIP_BLOCK_ROWS`, each block from its own seeded generator, so
    the values of a row do not depend on the chunk it is processed in.
    """
    first, last = start // CLIP_BLOCK_ROWS, (stop - 1) // CLIP_BLOCK_ROWS
    blocks = []
    for block in range(first, last + 1):
        rng = torch.Generator().manual_seed(derive_seed(seed, "stochastic-clip", step, block))
        blocks.append(torch.rand(CLIP_BLOCK_ROWS, z_dim, generator=rng))
    offset = first * CLIP_BLOCK_ROWS
    return torch.cat(blocks)[start - offset : stop - offset]


# --------------------------------------------------------------------------------------------
# Helpers: devices, freezing, validation, timing
# --------------------------------------------------------------------------------------------
def _module_device(module: nn.Module) -> torch.device | None:
    for tensor in module.parameters():
        return tensor.device
    for tensor in module.buffers():
        return tensor.device
    return None


def _resolve_device(
    device: torch.device | str | None, modules: Sequence[tuple[str, nn.Module]]
) -> torch.device:
    if device is None:
        found = [d for d in (_module_device(m) for _, m in modules) if d is not None]
        resolved = found[0] if found else torch.device("cpu")
    else:
        resolved = torch.device(device)
    for name, module in modules:
        where = _module_device(module)
        if where is not None and not _same_device(where, resolved):
            raise UserError(
                f"the {name} is on {where} but the inversion runs on {resolved}; "
                f"move it there first (module.to(device))"
            )
    return resolved


def _same_device(a: torch.device, b: torch.device) -> bool:
    if a.type != b.type:
        return False
    if a.type == "cuda":
        index_a = a.index if a.index is not None else torch.cuda.current_device()
        index_b = b.index if b.index is not None else torch.cuda.current_device()
        return index_a == index_b
    return True


@contextmanager
def _frozen(*modules: nn.Module) -> Iterator[None]:
    """Eval mode and ``requires_grad=False`` inside; previous mode and flags restored after."""
    saved = [(m, m.training, [(p, p.requires_grad) for p in m.parameters()]) for m in modules]
    try:
        for module in modules:
            module.eval()
            module.requires_grad_(False)
        yield
    finally:
        for module, training, flags in reversed(saved):
            module.train(training)
            for param, flag in flags:
                param.requires_grad_(flag)


def _check_targets(targets: Tensor) -> int:
    if not isinstance(targets, Tensor):
        raise UserError(f"targets must be a torch.Tensor, got {type(targets).__name__}")
    if not targets.is_floating_point():
        raise UserError(
            f"targets must be a float tensor in the generator's output range, got {targets.dtype}"
            " (convert uint8 images first)"
        )
    if targets.dim() < 2 or targets.shape[0] < 1:
        raise UserError(f"targets must have shape [N, ...] with N >= 1, got {tuple(targets.shape)}")
    return int(targets.shape[0])


def _check_chunk_size(chunk_size: int | None, n: int) -> int:
    if chunk_size is None:
        return n
    return min(check_int("chunk_size (or None)", chunk_size), n)


def _per_sample(loss_fn: LossFn, reconstructions: Tensor, targets: Tensor) -> Tensor:
    losses = loss_fn(reconstructions, targets)
    n = targets.shape[0]
    if not isinstance(losses, Tensor) or tuple(losses.shape) != (n,):
        shape = tuple(losses.shape) if isinstance(losses, Tensor) else type(losses).__name__
        raise UserError(f"loss_fn must return a per-sample loss of shape [{n}], got {shape}")
    if reconstructions.requires_grad and not losses.requires_grad:
        raise UserError("loss_fn must be differentiable with respect to the reconstructions")
    return losses


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class _Clock:
    """Wall and process time from construction to :meth:`stop` (which synchronises CUDA)."""

    def __init__(self) -> None:
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def stop(self, device: torch.device) -> tuple[float, float]:
        """(wall seconds, CPU seconds) since construction."""
        _sync(device)
        return time.perf_counter() - self._wall, time.process_time() - self._cpu


def _latent_dim(generator: nn.Module, z_dim: int | None) -> int | None:
    declared = getattr(generator, "z_dim", None)
    if z_dim is not None and declared is not None and int(z_dim) != int(declared):
        raise UserError(f"z_dim={z_dim} but the generator expects z_dim={declared}")
    return int(z_dim) if z_dim is not None else (int(declared) if declared is not None else None)


def _warm_up(
    generator: nn.Module, encoder: nn.Module | None, targets: Tensor, z_dim: int | None,
    device: torch.device,
) -> None:  # fmt: skip
    """One untimed pass on one target, so that first-call set-up (allocator, kernel selection,
    lazy initialisation) is not billed to whichever method happens to run first."""
    with torch.no_grad():
        x = targets[:1].detach().to(device=device, dtype=torch.float32)
        if encoder is not None:
            z = encoder(x)
            if (
                not isinstance(z, Tensor)
                or z.dim() != 2
                or (z_dim is not None and z.shape[1] != z_dim)
            ):
                return  # a shape mismatch is reported properly by _encode
        elif z_dim is not None:
            z = torch.zeros(1, z_dim, device=device)
        else:
            return
        generator(z)
    _sync(device)


def _check_init(init: str) -> None:
    if init not in INITS:
        raise UserError(f"unknown z init '{init}': use one of {', '.join(INITS)}")


def _initial_latents(n: int, z_dim: int, init: str, seed: int) -> Tensor:
    _check_init(init)
    return draw_latents(n, z_dim, init, seed)  # the same draw as sampling from the prior


def _warn_stopped(desc: str, stopped_at: Tensor) -> None:
    stopped = stopped_at >= 0
    count = int(stopped.sum())
    if count:
        log.warning(
            "%s: %d of %d targets stopped early because their loss became non-finite "
            "(first at iteration %d); their latents are frozen at the last finite iterate and "
            "their loss is reported as NaN",
            desc,
            count,
            stopped_at.numel(),
            int(stopped_at[stopped].min()),
        )


# --------------------------------------------------------------------------------------------
# Gradient descent
# --------------------------------------------------------------------------------------------
@dataclass
class _ChunkOutcome:
    z: Tensor
    reconstructions: Tensor
    curve: Tensor
    stopped_at: Tensor
    track: Tensor | None = None


class _ChunkState:
    """Per-chunk bookkeeping of active samples, their last good latents and the loss curve."""

    def __init__(self, z0: Tensor, iterations: int) -> None:
        n = z0.shape[0]
        self.active = torch.ones(n, dtype=torch.bool, device=z0.device)
        self.stopped_at = torch.full((n,), -1, dtype=torch.int64, device=z0.device)
        self.z_good = z0.clone()  # per row: the latest iterate whose loss was finite
        self.curve = torch.full((iterations + 1, n), float("nan"), device=z0.device)

    def record(self, t: int, z: Tensor, losses: Tensor, ok: Tensor) -> Tensor:
        """Row ``t`` of the curve at iterate ``z``; stop samples that are not ``ok``.

        Returns the mask of samples that stopped now. No host synchronisation.
        """
        newly = self.active & ~ok
        self.stopped_at = torch.where(newly, torch.full_like(self.stopped_at, t), self.stopped_at)
        self.active = self.active & ok
        nan = torch.full_like(self.curve[t], float("nan"))
        self.curve[t] = torch.where(self.active, losses.detach().float(), nan)
        self.z_good = torch.where(self.active[:, None], z.detach(), self.z_good)
        return newly

    def restore_(self, z: Tensor) -> None:
        """Put stopped rows back to their last good latent (in place)."""
        with torch.no_grad():
            z.copy_(torch.where(self.active[:, None], z, self.z_good))


def _gd_chunk(
    generator: nn.Module,
    targets: Tensor,
    z0: Tensor,
    loss_fn: LossFn,
    iterations: int,
    lr: float,
    optimizer: str,
    clip_seed: int | None,
    row_offset: int,
    bar,
    track_fn: TrackFn | None = None,
    clip_bound: float = 1.0,
) -> _ChunkOutcome:
    z = z0.clone().requires_grad_(True)
    state = _ChunkState(z0, iterations)
    n, z_dim = z0.shape
    track = None if track_fn is None else torch.full((iterations + 1, n), float("nan"))

    def record_track(t: int, reconstructions: Tensor) -> None:
        if track is not None:
            with torch.no_grad():
                track[t] = track_fn(reconstructions.detach(), targets).float().cpu()

    def clip_(step: int) -> None:
        if clip_seed is not None:
            noise = _clip_uniform01(clip_seed, step, row_offset, row_offset + n, z_dim)
            _resample_outside_(z, noise, clip_bound)

    if optimizer == "adam":
        opt = torch.optim.Adam([z], lr=lr)
        for t in range(iterations):
            opt.zero_grad(set_to_none=True)
            reconstructions = generator(z)
            record_track(t, reconstructions)
            losses = _per_sample(loss_fn, reconstructions, targets)
            with torch.no_grad():
                state.record(t, z, losses, torch.isfinite(losses))
            objective = torch.where(state.active, losses, torch.zeros_like(losses)).sum()
            objective.backward()
            with torch.no_grad():
                # stopped rows may hold NaN gradients (0 * inf); they must not reach Adam's state
                z.grad = torch.where(state.active[:, None], z.grad, torch.zeros_like(z.grad))
            opt.step()
            clip_(t)
            state.restore_(z)
            bar.update(1)
    else:
        _lbfgs_loop(generator, targets, z, state, loss_fn, iterations, lr, clip_, bar)

    with torch.no_grad():
        reconstructions = generator(z)
        losses = _per_sample(loss_fn, reconstructions, targets)
        newly = state.record(iterations, z, losses, torch.isfinite(losses))
        if bool(newly.any()):
            state.restore_(z)
            reconstructions[newly] = generator(z[newly])
        record_track(iterations, reconstructions)
    return _ChunkOutcome(z.detach(), reconstructions.detach(), state.curve, state.stopped_at, track)


def _lbfgs_loop(
    generator: nn.Module,
    targets: Tensor,
    z: Tensor,
    state: _ChunkState,
    loss_fn: LossFn,
    iterations: int,
    lr: float,
    clip_: Callable[[int], None],
    bar,
) -> None:
    def new_optimizer() -> torch.optim.LBFGS:
        return torch.optim.LBFGS(
            [z],
            lr=lr,
            max_iter=1,  # one quasi-Newton iteration per .step(); the history persists
            max_eval=1 + LBFGS_MAX_LINE_SEARCH,
            line_search_fn="strong_wolfe",
        )

    def evaluate() -> tuple[Tensor, Tensor, Tensor]:
        """Masked objective (gradient left in z.grad), raw losses, per-sample 'usable' mask."""
        z.grad = None
        losses = _per_sample(loss_fn, generator(z), targets)
        finite = torch.isfinite(losses.detach())
        use = state.active & finite
        torch.where(use, losses, torch.zeros_like(losses)).sum().backward()
        with torch.no_grad():
            use = use & torch.isfinite(z.grad).all(dim=1)
            z.grad = torch.where(use[:, None], z.grad, torch.zeros_like(z.grad))
            objective = torch.where(use, losses.detach(), torch.zeros_like(losses)).sum()
        return objective, losses.detach(), finite & use

    opt = new_optimizer()
    for t in range(iterations):
        objective, losses, ok = evaluate()
        newly = state.record(t, z, losses, ok)
        if bool(newly.any()):
            state.restore_(z)  # the gradient of the restored rows is zero: still valid
            opt = new_optimizer()
        cached = [objective]

        def closure(cached: list[Tensor] = cached) -> Tensor:
            if cached:  # the evaluation at the current iterate was just done above
                return cached.pop()
            return evaluate()[0]

        opt.step(closure)
        clip_(t)
        state.restore_(z)
        bar.update(1)


def _run_gd(
    generator: nn.Module,
    targets: Tensor,
    z_start: Tensor,
    loss_fn: LossFn,
    iterations: int,
    lr: float,
    stochastic_clipping: bool,
    seed: int,
    optimizer: str,
    chunk: int,
    device: torch.device,
    progress_desc: str,
    track_fn: TrackFn | None = None,
    clip_bound: float = 1.0,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor | None]:
    n = z_start.shape[0]
    starts = list(range(0, n, chunk))
    outcomes = []
    bar = progress(total=iterations * len(starts), desc=progress_desc)
    try:
        for start in starts:
            stop = min(start + chunk, n)
            outcome = _gd_chunk(
                generator,
                targets[start:stop].detach().to(device=device, dtype=torch.float32),
                z_start[start:stop].to(device),
                loss_fn,
                iterations,
                lr,
                optimizer,
                seed if stochastic_clipping else None,
                start,
                bar,
                track_fn,
                clip_bound,
            )
            outcomes.append(
                _ChunkOutcome(
                    outcome.z.float().cpu(),
                    outcome.reconstructions.float().cpu(),
                    outcome.curve.cpu(),
                    outcome.stopped_at.cpu(),
                    outcome.track,
                )
            )
    finally:
        bar.close()
    z = torch.cat([o.z for o in outcomes])
    reconstructions = torch.cat([o.reconstructions for o in outcomes])
    curve = torch.cat([o.curve for o in outcomes], dim=1)
    stopped_at = torch.cat([o.stopped_at for o in outcomes])
    track = None if track_fn is None else torch.cat([o.track for o in outcomes], dim=1)
    return z, reconstructions, curve[-1].clone(), curve, stopped_at, track


def _check_gd_args(iterations: int, lr: float, optimizer: str) -> None:
    check_int("iterations", iterations, minimum=0)
    if not float(lr) > 0.0:
        raise UserError(f"the learning rate lr must be positive, got {lr}")
    if optimizer not in OPTIMIZERS:
        raise UserError(f"unknown optimizer '{optimizer}': use one of {', '.join(OPTIMIZERS)}")


def invert_gd(
    generator: nn.Module,
    targets: Tensor,
    *,
    loss_fn: LossFn = pixel_mae,
    iterations: int = 200,
    lr: float = 0.01,
    z_init: Tensor | None = None,
    z_dim: int | None = None,
    init: str = "normal",
    seed: int = 0,
    stochastic_clipping: bool = False,
    optimizer: str = "adam",
    chunk_size: int | None = None,
    device: torch.device | str | None = None,
    progress_desc: str = "gd",
    track_fn: TrackFn | None = None,
    clip_bound: float = 1.0,
) -> InversionResult:
    """Invert ``targets`` by optimising ``z`` (see the module docstring for the semantics).

    ``z_init`` ([N, z_dim]) overrides the random initial point; otherwise ``z0`` is drawn from
    ``init`` ("normal" N(0, 1) or "uniform" U[-1, 1]) with ``seed`` for all N targets at once.
    ``z_dim`` defaults to ``generator.z_dim``. ``seed`` also seeds the stochastic-clipping noise;
    ``clip_bound``: clipping resamples entries outside [-clip_bound, clip_bound].
    ``chunk_size`` (default: all targets) only bounds memory.
    """
    n = _check_targets(targets)
    clip_bound = _check_bound(clip_bound)
    chunk = _check_chunk_size(chunk_size, n)
    _check_gd_args(iterations, lr, optimizer)
    dim = _latent_dim(generator, z_dim)
    if z_init is None:
        if dim is None:
            raise UserError("z_dim is unknown: pass z_dim or z_init (the generator has no .z_dim)")
        z_start = _initial_latents(n, dim, init, seed)
    else:
        if not isinstance(z_init, Tensor) or z_init.dim() != 2 or z_init.shape[0] != n:
            shape = tuple(z_init.shape) if isinstance(z_init, Tensor) else type(z_init).__name__
            raise UserError(f"z_init must have shape [{n}, z_dim], got {shape}")
        if dim is not None and z_init.shape[1] != dim:
            raise UserError(
                f"z_init has {z_init.shape[1]} latent dims, the generator expects {dim}"
            )
        z_start = z_init.detach().to(device="cpu", dtype=torch.float32)
    run_device = _resolve_device(device, [("generator", generator)])

    with _frozen(generator):
        _warm_up(generator, None, targets, z_start.shape[1], run_device)
        clock = _Clock()
        z, reconstructions, loss, curve, stopped_at, track = _run_gd(
            generator,
            targets,
            z_start,
            loss_fn,
            iterations,
            float(lr),
            bool(stochastic_clipping),
            int(seed),
            optimizer,
            chunk,
            run_device,
            progress_desc,
            track_fn,
            clip_bound,
        )
        seconds = clock.stop(run_device)
    return _finish("gd", progress_desc, (z, reconstructions, loss, curve, stopped_at, track),
                   seconds, run_device)  # fmt: skip


def _finish(
    method: str, desc: str, outputs: tuple, seconds: tuple[float, float], run_device: torch.device
) -> InversionResult:
    """Package the outputs of a GD run (gd or hybrid), warn about stopped samples, log."""
    z, reconstructions, loss, curve, stopped_at, track = outputs
    _warn_stopped(desc, stopped_at)
    result = InversionResult(
        z=z,
        reconstructions=reconstructions,
        loss=loss,
        loss_curve=curve,
        stopped_at=stopped_at,
        seconds_total=seconds[0],
        seconds_per_target=seconds[0] / len(z),
        cpu_seconds_total=seconds[1],
        device=device_description(run_device),
        method=method,
        track_curve=track,
    )
    _log_done(desc, result)
    return result


def _log_done(desc: str, result: InversionResult) -> None:
    log.info(
        "%s: inverted %d targets in %.2f s (%.4f s/target, CPU %.2f s) on %s; mean final loss %.5g",
        desc,
        result.z.shape[0],
        result.seconds_total,
        result.seconds_per_target,
        result.cpu_seconds_total,
        result.device,
        float(result.loss.nanmean()),
    )


# --------------------------------------------------------------------------------------------
# Encoder and hybrid
# --------------------------------------------------------------------------------------------
def _encode(
    encoder: nn.Module,
    targets: Tensor,
    z_dim: int | None,
    chunk: int,
    device: torch.device,
) -> Tensor:
    """Encoder latents for all targets, batched by ``chunk``: [N, z_dim] float32 on the CPU."""
    n = targets.shape[0]
    parts = []
    with torch.no_grad():
        for start in range(0, n, chunk):
            batch = targets[start : start + chunk].detach().to(device=device, dtype=torch.float32)
            z = encoder(batch)
            expected = (batch.shape[0], z_dim) if z_dim is not None else None
            ok = isinstance(z, Tensor) and z.dim() == 2 and z.shape[0] == batch.shape[0]
            if not ok or (expected is not None and tuple(z.shape) != expected):
                shape = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
                raise UserError(
                    f"the encoder outputs latents of shape {shape} but the generator expects "
                    f"[{batch.shape[0]}, {z_dim}] (encoder and generator z_dim differ?)"
                )
            parts.append(z.float().cpu())
    return torch.cat(parts)


def invert_encoder(
    encoder: nn.Module,
    generator: nn.Module,
    targets: Tensor,
    *,
    loss_fn: LossFn = pixel_mae,
    chunk_size: int | None = None,
    device: torch.device | str | None = None,
    track_fn: TrackFn | None = None,
) -> InversionResult:
    """Invert ``targets`` with one encoder forward pass per chunk: ``z = E(x)``, ``G(z)``."""
    n = _check_targets(targets)
    chunk = _check_chunk_size(chunk_size, n)
    run_device = _resolve_device(device, [("generator", generator), ("encoder", encoder)])
    dim = _latent_dim(generator, None)
    with _frozen(generator, encoder):
        _warm_up(generator, encoder, targets, dim, run_device)
        clock = _Clock()
        z = _encode(encoder, targets, dim, chunk, run_device)
        recons, losses, tracks = [], [], []
        with torch.no_grad():
            for start in range(0, n, chunk):
                batch = (
                    targets[start : start + chunk]
                    .detach()
                    .to(device=run_device, dtype=torch.float32)
                )
                reconstructions = generator(z[start : start + chunk].to(run_device))
                losses.append(_per_sample(loss_fn, reconstructions, batch).float().cpu())
                if track_fn is not None:
                    tracks.append(track_fn(reconstructions, batch).float().cpu())
                recons.append(reconstructions.float().cpu())
        seconds = clock.stop(run_device)
    loss = torch.cat(losses)
    finite = torch.isfinite(loss)
    loss = torch.where(finite, loss, torch.full_like(loss, float("nan")))
    stopped_at = torch.where(finite, -1, 0).to(torch.int64)
    _warn_stopped("encoder", stopped_at)
    result = InversionResult(
        z=z,
        reconstructions=torch.cat(recons),
        loss=loss,
        loss_curve=loss[None].clone(),
        stopped_at=stopped_at,
        seconds_total=seconds[0],
        seconds_per_target=seconds[0] / n,
        cpu_seconds_total=seconds[1],
        device=device_description(run_device),
        method="encoder",
        track_curve=torch.cat(tracks)[None] if track_fn is not None else None,
    )
    _log_done("encoder", result)
    return result


def invert_hybrid(
    encoder: nn.Module,
    generator: nn.Module,
    targets: Tensor,
    *,
    loss_fn: LossFn = pixel_mae,
    iterations: int = 50,
    lr: float = 0.01,
    stochastic_clipping: bool = False,
    optimizer: str = "adam",
    chunk_size: int | None = None,
    device: torch.device | str | None = None,
    track_fn: TrackFn | None = None,
    clip_bound: float = 1.0,
    seed: int = 0,
) -> InversionResult:
    """Encoder prediction as the initial point of ``iterations`` GD steps.

    ``loss_curve[0]`` is the loss of the encoder's reconstruction; the timing includes the
    encoder pass. ``seed`` seeds the stochastic-clipping noise (as in :func:`invert_gd`).
    """
    n = _check_targets(targets)
    clip_bound = _check_bound(clip_bound)
    chunk = _check_chunk_size(chunk_size, n)
    _check_gd_args(iterations, lr, optimizer)
    run_device = _resolve_device(device, [("generator", generator), ("encoder", encoder)])
    dim = _latent_dim(generator, None)
    with _frozen(generator, encoder):
        _warm_up(generator, encoder, targets, dim, run_device)
        clock = _Clock()
        z_start = _encode(encoder, targets, dim, chunk, run_device)
        z, reconstructions, loss, curve, stopped_at, track = _run_gd(
            generator,
            targets,
            z_start,
            loss_fn,
            iterations,
            float(lr),
            bool(stochastic_clipping),
            int(seed),
            optimizer,
            chunk,
            run_device,
            "hybrid",
            track_fn,
            clip_bound,
        )
        seconds = clock.stop(run_device)
    return _finish("hybrid", "hybrid", (z, reconstructions, loss, curve, stopped_at, track),
                   seconds, run_device)  # fmt: skip


def invert(
    generator: nn.Module,
    targets: Tensor,
    *,
    settings: InversionSettings,
    encoder: nn.Module | None = None,
    seed: int = 0,
    loss_fn: LossFn = pixel_mae,
    chunk_size: int | None = None,
    device: torch.device | str | None = None,
    track_fn: TrackFn | None = None,
) -> InversionResult:
    """Run ``settings.method`` on ``targets`` with its settings (``encoder``: needed by the
    encoder and hybrid methods; ``seed``: the GD start and the stochastic-clipping noise)."""
    if not isinstance(settings, InversionSettings):
        raise UserError(
            f"settings must be an InversionSettings, got {type(settings).__name__} "
            "(InversionSettings.from_mapping builds one from a method's config mapping)"
        )
    if settings.method != "gd" and encoder is None:
        raise UserError(f"method '{settings.method}' needs an encoder model file")
    common = {"loss_fn": loss_fn, "chunk_size": chunk_size, "device": device, "track_fn": track_fn}
    if settings.method == "encoder":
        return invert_encoder(encoder, generator, targets, **common)
    gd = {"iterations": settings.iterations, "lr": settings.lr,
          "stochastic_clipping": settings.stochastic_clipping,
          "optimizer": settings.optimizer, "clip_bound": settings.clip_bound}  # fmt: skip
    if settings.method == "hybrid":
        return invert_hybrid(encoder, generator, targets, seed=seed, **gd, **common)
    return invert_gd(generator, targets, init=settings.init, seed=seed, **gd, **common)
