"""The figures the chapters draw. Each function returns a matplotlib Figure and never calls plt.show(); the
``*_animation`` functions return an ``Animation`` (self-contained HTML with a slider, which moves without a kernel)."""
from __future__ import annotations

import functools
import re

import matplotlib.pyplot as plt
import numpy as np
import torch

from .data.toy2d import StripeWorld
from .schedule import draw_noise, make_scheduler

LIM = 3.5  # half-width of the plotted square of the plane


# The book's pages are about 9 inches wide: a wider figure is shrunk to fit, and its text with it. Figures are drawn at
# most this wide (a grid of many panels shrinks its panels, keeping the aspect), and no text is smaller than 9 pt.
MAX_WIDTH = 9.0
STYLE = {"font.size": 10, "axes.titlesize": 10, "axes.labelsize": 10, "xtick.labelsize": 9, "ytick.labelsize": 9,
         "legend.fontsize": 9, "figure.titlesize": 11}


def _styled(draw):
    """Draw a figure with the book's font sizes (``STYLE``), leaving the caller's matplotlib settings alone."""
    @functools.wraps(draw)
    def styled(*args, **kwargs):
        with plt.rc_context(STYLE):
            return draw(*args, **kwargs)
    return styled


def _fit(width: float, height: float) -> tuple[float, float]:
    """A figure size of at most ``MAX_WIDTH`` inches wide, with the aspect of (width, height)."""
    scale = min(1.0, MAX_WIDTH / width)
    return width * scale, height * scale


def _grid(n: int = 121, lim: float = LIM):
    g = torch.linspace(-lim, lim, n)
    X, Y = torch.meshgrid(g, g, indexing="xy")
    return X, Y, torch.stack([X, Y], -1)


def _density(world: StripeWorld, scene, weights=None, temperature: float = 1.0, n: int = 121):
    """Normalised density exp(-sum_k w_k E_k / T) on a grid (normalised numerically; safe for any w, T > 0)."""
    X, Y, P = _grid(n)
    logp = -world.energy(P, scene, weights) / max(float(temperature), 1e-6)
    p = torch.exp(logp - logp.max())
    return X, Y, p / p.sum()


@_styled
def experts_figure(world: StripeWorld, scenes, titles=None, points=None):
    """Density of each scene (a product of its experts); ``points`` (list of (n, 2)) are overlaid."""
    fig, axes = plt.subplots(1, len(scenes), figsize=_fit(3.2 * len(scenes), 3.2), squeeze=False)
    names = world.names()
    for i, (ax, scene) in enumerate(zip(axes[0], scenes)):
        X, Y, p = _density(world, scene)
        ax.contourf(X, Y, p, levels=20, cmap="Blues")
        if points is not None and points[i] is not None:
            ax.scatter(points[i][:, 0], points[i][:, 1], s=3, c="crimson", alpha=0.6)
        ax.set_title(titles[i] if titles else " × ".join(names[k] for k in scene), fontsize=9)
        ax.set_aspect("equal")
        ax.set_xlim(-LIM, LIM)
        ax.set_ylim(-LIM, LIM)
    fig.tight_layout()
    return fig


@_styled
def energy_figure(world: StripeWorld, scene):
    """Energies of each expert and their sum (the product of experts' energy)."""
    X, Y, P = _grid()
    fig, axes = plt.subplots(1, len(scene) + 1, figsize=_fit(3.2 * (len(scene) + 1), 3.2))
    names = world.names()
    for ax, k in zip(axes, scene):
        ax.contourf(X, Y, world.energy(P, (k,)).clamp(max=30), levels=20, cmap="viridis")
        ax.set_title(f"E_{k}  ({names[k]})", fontsize=9)
    axes[-1].contourf(X, Y, world.energy(P, scene).clamp(max=30), levels=20, cmap="viridis")
    axes[-1].set_title("sum of energies", fontsize=9)
    for ax in axes:
        ax.set_aspect("equal")
    fig.tight_layout()
    return fig


@_styled
def score_figure(world: StripeWorld, scene, abar: float = 1.0, other=None, other_label: str = "model", n: int = 17):
    """Directions of the exact score of a scene at noise level abar (at abar = 1 the clean score
    -sum_k Lambda_k (x - mu_k)), and, if ``other`` (a function of points (P, 2) -> eps (P, 2)) is given,
    the direction -eps of another prediction on the same grid."""
    X, Y, P = _grid(n, LIM * 0.9)
    pts = P.reshape(-1, 2)
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    exact = -world.ideal_eps(pts, torch.tensor(abar), scene) if abar < 1.0 else world.score(pts, scene)
    e = exact / exact.norm(dim=-1, keepdim=True).clamp(min=1e-8)
    ax.quiver(pts[:, 0], pts[:, 1], e[:, 0], e[:, 1], color="black", alpha=0.7, label="exact")
    if other is not None:
        o = other(pts)
        m = -o / o.norm(dim=-1, keepdim=True).clamp(min=1e-8)
        ax.quiver(pts[:, 0], pts[:, 1], m[:, 0], m[:, 1], color="crimson", alpha=0.6, label=f"{other_label}: -eps")
    ax.legend(loc="lower right", fontsize=9)
    ax.set_aspect("equal")
    ax.set_title(f"score directions, abar = {abar:.3g}", fontsize=9)
    fig.tight_layout()
    return fig


@_styled
def composed_density(world: StripeWorld, scene=(0, 2), weights=(1.0, 1.0), temperature: float = 1.0):
    """p(x) ∝ exp(-sum_k w_k E_k(x) / T) for two experts: weights and temperature reshape the product."""
    fig, ax = plt.subplots(figsize=(4, 4))
    _draw_density(ax, world, scene, weights, temperature)
    fig.tight_layout()
    return fig


def _draw_density(ax, world: StripeWorld, scene, weights, temperature: float = 1.0):
    """``composed_density`` on ``ax`` (also a frame of ``density_animation``)."""
    weights = [max(0.0, float(w)) for w in weights]
    X, Y, p = _density(world, scene, weights, temperature)
    ax.contourf(X, Y, p, levels=20, cmap="magma")
    ax.set_title(f"w = ({weights[0]:.2g}, {weights[1]:.2g}), T = {temperature:.2g}", fontsize=9)
    ax.set_aspect("equal")


def density_explorer(world: StripeWorld, scene=(0, 2)):
    """An ipywidgets control over ``composed_density`` (live notebooks only; the book shows the default)."""
    import ipywidgets as widgets
    from IPython.display import display

    out = widgets.Output()
    w1 = widgets.FloatSlider(value=1.0, min=0.0, max=5.0, step=0.1, description="w1")
    w2 = widgets.FloatSlider(value=1.0, min=0.0, max=5.0, step=0.1, description="w2")
    T = widgets.FloatLogSlider(value=1.0, base=10, min=-1.5, max=1.5, step=0.05, description="T")

    def redraw(*_):
        with out:
            out.clear_output(wait=True)
            fig = composed_density(world, scene, (w1.value, w2.value), T.value)
            display(fig)
            plt.close(fig)

    for s in (w1, w2, T):
        s.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([w1, w2, T]), out])


@_styled
def samples_figure(world: StripeWorld, samples: dict, scenes, n_show: int = 400):
    """Rows: models (dict name -> list of (n, 2) samples per scene); columns: scenes, over exact densities."""
    rows = len(samples)
    fig, axes = plt.subplots(rows, len(scenes), figsize=_fit(2.6 * len(scenes), 2.6 * rows), squeeze=False)
    for r, (name, per_scene) in enumerate(samples.items()):
        for c, scene in enumerate(scenes):
            ax = axes[r, c]
            X, Y, p = _density(world, scene)
            ax.contour(X, Y, p, levels=4, colors="steelblue", linewidths=0.8)
            x = per_scene[c][:n_show]
            ax.scatter(x[:, 0], x[:, 1], s=2, c="crimson", alpha=0.5)
            ax.set_xlim(-LIM, LIM)
            ax.set_ylim(-LIM, LIM)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(name, fontsize=9)
            if r == 0:
                ax.set_title(" × ".join(world.names()[k] for k in scene), fontsize=9)
    fig.tight_layout()
    return fig


@_styled
def errors_figure(labels, errors, truth_label=None, title="denoising error of every candidate set"):
    """Bar chart of the denoising error of each candidate set, the least one and the truth marked."""
    errors = np.asarray(errors, dtype=float)
    order = np.argsort(errors)
    fig, ax = plt.subplots(figsize=_fit(max(6, 0.28 * len(labels)), 3.2))
    colors = ["crimson" if labels[i] == truth_label else "steelblue" for i in order]
    ax.bar(range(len(order)), errors[order], color=colors)
    span = errors.max() - errors.min()
    ax.set_ylim(max(0.0, errors.min() - 0.15 * span), errors.max() + 0.05 * span)
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels([labels[i] for i in order], rotation=90, fontsize=9)
    ax.set_ylabel("error")
    ax.set_title(title + ("  (red: the true set)" if truth_label else ""), fontsize=9)
    fig.tight_layout()
    return fig


@_styled
def loss_figure(losses, window: int = 20):
    """Training loss per step with a moving average."""
    l = np.asarray(losses, dtype=float)
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(l, alpha=0.3, label="loss")
    if len(l) >= window:
        ax.plot(np.arange(window - 1, len(l)), np.convolve(l, np.ones(window) / window, "valid"), label=f"mean of {window}")
    ax.set_xlabel("step")
    ax.set_ylabel("composed denoising loss")
    ax.legend()
    fig.tight_layout()
    return fig


def _show(ax, img: torch.Tensor):
    """An image (3, H, W) or (1, H, W) in [-1, 1] on an axis, without ticks."""
    img = ((img.detach().float().clamp(-1, 1) + 1) / 2).permute(1, 2, 0).numpy()
    if img.shape[-1] == 1:
        ax.imshow(img[..., 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.imshow(img, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


@_styled
def faces_figure(x: torch.Tensor, titles=None, ncols: int = 8, title: str | None = None):
    """A grid of images x (B, 3 or 1, H, W) in [-1, 1] (faces, digit canvases), each with an optional (short) title."""
    n = x.shape[0]
    rows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(rows, ncols, figsize=_fit(1.35 * ncols, 1.55 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i < n:
            _show(ax, x[i])
            if titles is not None:
                ax.set_title(titles[i], fontsize=9)
        else:
            ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def attribute_label(attrs, short=("hair", "glasses", "smile")) -> str:
    """attrs (3,) in {0, 1} -> e.g. "hair·smile" (the attributes present), or "none"."""
    on = [s for s, a in zip(short, attrs) if int(a)]
    return "·".join(on) if on else "none"


@_styled
def configuration_errors_figure(x: torch.Tensor, errors: torch.Tensor, labels, truth=None):
    """Faces x (B, 3, H, W) beside bars of their denoising error for every configuration (B, S); the
    least error is IGM's answer (dark bar), ``truth`` (B,) indexes the true configuration (outlined)."""
    B, S = errors.shape
    fig, axes = plt.subplots(B, 2, figsize=(8, 1.35 * B), squeeze=False, gridspec_kw={"width_ratios": [1, 6]})
    for b in range(B):
        _show(axes[b, 0], x[b])
        e = errors[b].numpy()
        ax = axes[b, 1]
        _error_bars(ax, e, None if truth is None else int(truth[b]))
        lo, hi = np.nanmin(e), np.nanmax(e)
        ax.set_ylim(lo - 0.15 * (hi - lo + 1e-12), hi + 0.05 * (hi - lo + 1e-12))  # the axis starts just below the least error
        ax.set_ylabel("error", fontsize=9)
        ax.tick_params(labelsize=9)
        ax.set_xticks(range(S))
        ax.set_xticklabels(labels if b == B - 1 else [""] * S, rotation=30, ha="right", fontsize=9)
    axes[0, 1].set_title("denoising error of each configuration (dark: least, red edge: truth)", fontsize=9)
    fig.tight_layout()
    return fig


def _error_bars(ax, e, truth=None):
    """Bars of the errors ``e`` (S,) of every configuration: dark the least, a red edge on ``truth``."""
    bars = ax.bar(range(len(e)), e, color=["tab:blue" if i == int(np.nanargmin(e)) else "lightsteelblue" for i in range(len(e))])
    if truth is not None:
        bars[truth].set_edgecolor("crimson")
        bars[truth].set_linewidth(2)


@_styled
def accuracy_figure(results: dict, attributes, title: str = "accuracy"):
    """Grouped bars: results {label: {"per_attribute": {name: acc}, "accuracy": acc}}, per attribute and all three."""
    groups = list(attributes) + ["all three"]
    fig, ax = plt.subplots(figsize=(7.5, 3))
    width = 0.8 / len(results)
    for i, (label, r) in enumerate(results.items()):
        vals = [r["per_attribute"][a] for a in attributes] + [r["accuracy"]]
        pos = np.arange(len(groups)) + (i - (len(results) - 1) / 2) * width
        ax.bar(pos, vals, width, label=label)
    ax.set_xticks(np.arange(len(groups)))
    ax.set_xticklabels(groups)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=9, loc="lower left")
    fig.tight_layout()
    return fig


@_styled
def noise_level_votes_figure(t: torch.Tensor, votes: dict, attributes, bins=(0, 100, 250, 500, 750, 1000)):
    """How each noise level votes on each attribute (``igm_lite.infer.attributes.attribute_votes``). votes:
    {split label: (vote (B, N, 3), attrs (B, 3))}, t (N,) the samples' timesteps. Top row, per attribute:
    the share of samples in each t bin that vote "present", over the faces where it is present (solid) and
    absent (dashed); a level that reads the attribute keeps solid lines near 1 and dashed near 0. Bottom
    row: the mean size of a vote per bin (log scale), i.e. how much each level weighs in the sum."""
    t = torch.as_tensor(t).cpu()
    edges = list(bins)
    names = [f"[{lo}, {hi})" for lo, hi in zip(edges[:-1], edges[1:])]
    in_bin = [(t >= lo) & (t < hi) for lo, hi in zip(edges[:-1], edges[1:])]
    fig, axes = plt.subplots(2, len(attributes), figsize=_fit(3.2 * len(attributes), 5.2), sharex=True, squeeze=False)
    x = np.arange(len(names))
    for (label, (vote, attrs)), colour in zip(votes.items(), plt.rcParams["axes.prop_cycle"].by_key()["color"]):
        vote, attrs = vote.cpu(), torch.as_tensor(attrs).cpu().bool()
        for a, name in enumerate(attributes):
            for present, style in ((True, "-"), (False, "--")):
                faces = attrs[:, a] == present
                share = [float((vote[faces][:, m, a] > 0).float().mean()) if faces.any() and m.any() else np.nan for m in in_bin]
                axes[0, a].plot(x, share, style, marker="o", color=colour, label=f"{label}: faces {'with' if present else 'without'} it")
            size = [float(vote[:, m, a].abs().mean()) if m.any() else np.nan for m in in_bin]
            axes[1, a].plot(x, size, marker="o", color=colour, label=label)
    for a, name in enumerate(attributes):
        axes[0, a].axhline(0.5, color="grey", lw=0.8)
        axes[0, a].set_ylim(-0.03, 1.03)
        axes[0, a].set_title(name, fontsize=10)
        axes[1, a].set_yscale("log")
        axes[1, a].set_xticks(x)
        axes[1, a].set_xticklabels(names, rotation=30, ha="right", fontsize=9)
        axes[1, a].set_xlabel("t", fontsize=9)
    axes[0, 0].set_ylabel('share of samples voting "present"', fontsize=9)
    axes[1, 0].set_ylabel("mean |vote| (error difference)", fontsize=9)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=9, frameon=False, handlelength=3)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


@_styled
def pair_errors_figure(x: torch.Tensor, set_errors: torch.Tensor, sets: torch.Tensor, prompt_errors: torch.Tensor,
                       truth, names=None):
    """For each image (B, C, H, W): the image, the denoising error of every pair of prompts as an M x M
    map (IGM picks the least: white circle; truth: red square), and each prompt's error alone (Diffusion
    Classifier keeps the K least: dark bars; true prompts: red edges). set_errors (B, S) for ``sets``
    (S, 2); prompt_errors (B, M); truth: B lists of prompt indices."""
    B, M = prompt_errors.shape
    names = names or [str(m) for m in range(M)]
    fig, axes = plt.subplots(B, 3, figsize=_fit(9, 2.3 * B), squeeze=False, gridspec_kw={"width_ratios": [1, 1.5, 2.4]})
    for b in range(B):
        _show(axes[b, 0], x[b])
        grid = np.full((M, M), np.nan)
        e = set_errors[b].numpy()
        for (i, j), v in zip(sets.tolist(), e):
            grid[i, j] = grid[j, i] = v
        ax = axes[b, 1]
        ax.imshow(grid, cmap="viridis_r")
        i, j = sets[int(np.nanargmin(e))].tolist()
        ax.scatter([j], [i], s=60, facecolors="none", edgecolors="white", linewidths=1.5)
        ti, tj = sorted(truth[b])[:2] if len(truth[b]) >= 2 else (truth[b][0], truth[b][0])
        ax.scatter([tj], [ti], s=110, marker="s", facecolors="none", edgecolors="crimson", linewidths=1.5)
        ax.set_xticks(range(M))
        ax.set_yticks(range(M))
        ax.set_xticklabels(names, fontsize=9)
        ax.set_yticklabels(names, fontsize=9)
        pe = prompt_errors[b].numpy()
        keep = set(np.argsort(pe)[: len(truth[b])].tolist())
        ax = axes[b, 2]
        bars = ax.bar(range(M), pe, color=["tab:blue" if m in keep else "lightsteelblue" for m in range(M)])
        for m in truth[b]:
            bars[m].set_edgecolor("crimson")
            bars[m].set_linewidth(2)
        lo, hi = pe.min(), pe.max()
        ax.set_ylim(lo - 0.15 * (hi - lo + 1e-12), hi + 0.05 * (hi - lo + 1e-12))
        ax.set_xticks(range(M))
        ax.set_xticklabels(names, fontsize=9)
        ax.tick_params(labelsize=9)
    axes[0, 1].set_title("error of each pair (IGM; bright: low)", fontsize=9)
    axes[0, 2].set_title("error of each prompt alone (DC)", fontsize=9)
    fig.tight_layout()
    return fig


@_styled
def method_bars(results: dict, paper: dict | None = None, title: str = "accuracy"):
    """Bars of accuracy per method: results {label: accuracy}; paper {label: accuracy} drawn as ticks."""
    fig, ax = plt.subplots(figsize=(7, 2.8))
    labels = list(results)
    ax.bar(range(len(labels)), [results[k] for k in labels], color="tab:blue", label="this run")
    for i, k in enumerate(labels):
        ax.text(i, results[k] + 0.02, f"{results[k]:.0%}", ha="center", fontsize=9)
        if paper and k in paper:
            ax.plot([i - 0.4, i + 0.4], [paper[k]] * 2, color="crimson", lw=2, label="paper" if i == 0 else None)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, fontsize=9)
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("accuracy")
    ax.set_title(title, fontsize=10)
    if paper:
        ax.legend(fontsize=9, loc="upper right")
    fig.tight_layout()
    return fig


@_styled
def scenes_figure(x: torch.Tensor, truths, preds=None, titles=None, ncols: int = 6, title: str | None = None):
    """Scenes x (B, 3, H, W) with their true positions (list of (K, 2), white circles) and predicted ones
    (list of (P, 2), red crosses), positions in [0, 1] (x right, y down)."""
    n = x.shape[0]
    rows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(rows, ncols, figsize=_fit(2.0 * ncols, 2.15 * rows), squeeze=False)
    S = x.shape[-1]
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        _show(ax, x[i])
        t = torch.as_tensor(truths[i]).reshape(-1, 2) * S - 0.5
        ax.scatter(t[:, 0], t[:, 1], s=60, facecolors="none", edgecolors="white", linewidths=1.2)
        if preds is not None:
            p = torch.as_tensor(preds[i]).reshape(-1, 2) * S - 0.5
            ax.scatter(p[:, 0], p[:, 1], s=30, marker="x", c="red", linewidths=1.5)
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


@_styled
def trajectories_figure(x: torch.Tensor, paths: torch.Tensor, truth, errors=None, title: str | None = None):
    """The optimisation paths of several initialisations on one scene: x (3, H, W), paths (steps, R, K, 2),
    truth (K, 2); the best initialisation (least ``errors`` (R,)) is drawn thick."""
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    _draw_paths(ax, x, paths, truth, errors)
    ax.set_title(title or "gradient paths of each initialisation (thick: least error)", fontsize=9)
    fig.tight_layout()
    return fig


def _draw_paths(ax, x: torch.Tensor, paths: torch.Tensor, truth, errors=None):
    """Scene x and each initialisation's paths (steps, R, K, 2) on ``ax``, the one of least ``errors`` thick, the
    true positions as white circles (``trajectories_figure``, and each frame of ``search_animation``)."""
    _show(ax, x)
    S = x.shape[-1]
    colors = plt.cm.tab10(np.arange(paths.shape[1]) % 10)
    best = int(torch.as_tensor(errors).argmin()) if errors is not None else -1
    for r in range(paths.shape[1]):
        for k in range(paths.shape[2]):
            p = paths[:, r, k] * S - 0.5
            ax.plot(p[:, 0], p[:, 1], color=colors[r], lw=2.2 if r == best else 0.8, alpha=1.0 if r == best else 0.6)
            ax.scatter(p[-1:, 0], p[-1:, 1], color=colors[r], s=25 if r == best else 10, zorder=3)
    t = torch.as_tensor(truth) * S - 0.5
    ax.scatter(t[:, 0], t[:, 1], s=90, facecolors="none", edgecolors="white", linewidths=1.5, zorder=4)


@_styled
def error_vs_k_figure(curves: dict, truth_k: dict | None = None, title: str = "denoising error of the best K-object answer"):
    """Lines of error against K: curves {label: (ks, errors)}; ``truth_k`` {label: K} marks the true count."""
    fig, ax = plt.subplots(figsize=(5.5, 3.0))
    for i, (label, (ks, errs)) in enumerate(curves.items()):
        line, = ax.plot(ks, errs, marker="o", ms=3, label=label)
        if truth_k and label in truth_k:
            k = truth_k[label]
            ax.scatter([k], [errs[list(ks).index(k)]], s=80, facecolors="none", edgecolors=line.get_color(), linewidths=1.5)
    ax.set_xlabel("K (objects in the answer)")
    ax.set_ylabel("denoising error")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


@_styled
def method_figure(world: StripeWorld | None = None, scene=(0, 2), n_points: int = 300, n_samples: int = 64, seed: int = 0):
    """The whole method on the 2-D stripe world, with its exact denoisers: compose (two experts and their product),
    observe (a cloud drawn from the product), invert (the denoising error of every candidate set of one or two
    concepts on shared noise samples; the least error names the concepts that made the cloud)."""
    world = world or StripeWorld()
    g = torch.Generator().manual_seed(seed)
    names = world.names()
    fig, axes = plt.subplots(1, 3, figsize=_fit(13.0, 4.0), gridspec_kw={"width_ratios": [1, 1, 1.6]})
    X, Y, P = _grid()
    for k, cmap in zip(scene, ("Greens", "Oranges")):
        axes[0].contour(X, Y, torch.exp(-world.energy(P, (k,))), levels=4, cmap=cmap, linewidths=1.2)
    axes[0].contourf(X, Y, _density(world, scene)[2], levels=12, cmap="Blues", alpha=0.85)
    axes[0].set_title("1. compose: p(x|c¹) p(x|c²)")
    cloud = world.cloud(scene, n_points, g)
    axes[1].scatter(cloud[:, 0], cloud[:, 1], s=4, c="crimson", alpha=0.6)
    axes[1].set_title("2. observe a cloud")
    for ax in axes[:2]:
        ax.set_aspect("equal")
        ax.set_xlim(-LIM, LIM)
        ax.set_ylim(-LIM, LIM)
        ax.set_xticks([])
        ax.set_yticks([])
    scheduler = make_scheduler()
    noise = draw_noise(tuple(cloud.shape), n_samples, generator=g)  # shared by every candidate set, as the engines share it
    x_t = scheduler.add_noise(cloud.expand(n_samples, -1, -1), noise.noise, noise.t)
    abar = scheduler.alphas_cumprod[noise.t].view(-1, 1).expand(-1, n_points)
    sets = world.scenes(1) + world.scenes(2)
    errors = [float((noise.noise - world.ideal_eps(x_t, abar, s)).pow(2).mean()) for s in sets]
    best = int(np.argmin(errors))
    colours = ["crimson" if i == best else "grey" for i in range(len(sets))]
    axes[2].bar(range(len(sets)), errors, color=colours)
    axes[2].set_xticks(range(len(sets)))
    axes[2].set_xticklabels([" + ".join(names[k] for k in s) for s in sets], rotation=70, ha="right", fontsize=9)
    axes[2].set_yscale("log")
    axes[2].set_ylabel("denoising error")
    axes[2].set_title(f"3. invert: the least error is {' + '.join(names[k] for k in sets[best])}")
    fig.tight_layout()
    return fig


@_styled
def worlds_figure(summary: list[dict], readers=("latent", "resnet", "pixel"), labels=None):
    """Chapter 3's grid: accuracy (all three attributes right) per world, in and out of distribution, one marker per
    reader and training seed with its 95% interval over test faces (``igm_lite.bench.worlds_summary``'s entries)."""
    fig, axes = plt.subplots(1, 2, figsize=_fit(10.0, 3.6), sharey=True)
    _draw_worlds(axes, summary, readers, labels)
    handles, names = axes[1].get_legend_handles_labels()  # below the panels: the points fill every corner of them
    fig.legend(handles, names, loc="lower center", ncol=len(names), frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def _draw_worlds(axes, summary, readers=("latent", "resnet", "pixel"), labels=None):
    labels = labels or {"latent": "IGM, latents", "resnet": "ResNet", "pixel": "IGM, pixels"}
    worlds = list(dict.fromkeys(e["world"] for e in summary))
    colours = {"latent": "tab:blue", "resnet": "tab:orange", "pixel": "tab:green"}
    for ax, split in zip(axes, ("id", "ood")):
        present = [r for r in readers if any(e["reader"] == r for e in summary)]
        for j, reader in enumerate(present):
            for i, e in enumerate(e for e in summary if e["reader"] == reader and e["split"] == split):
                x0 = worlds.index(e["world"]) + (j - (len(present) - 1) / 2) * 0.25
                xs = x0 + np.linspace(-0.06, 0.06, len(e["accuracy"])) if len(e["accuracy"]) > 1 else np.array([x0])
                ax.scatter(xs, e["accuracy"], color=colours.get(reader), s=14, zorder=3, label=labels.get(reader, reader) if i == 0 else None)
                for x, (lo, hi) in zip(xs, e["ci95"]):  # each seed's interval over test faces
                    ax.plot([x, x], [lo, hi], color=colours.get(reader), lw=1.0)
                ax.plot([x0 - 0.09, x0 + 0.09], [e["mean"]] * 2, color=colours.get(reader), lw=2)
        ax.set_xticks(range(len(worlds)))
        ax.set_xticklabels(worlds, rotation=20)
        ax.set_ylim(0, 1.03)
        ax.set_title("in distribution (group A)" if split == "id" else "out of distribution (group B)")
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("all three attributes right")


@_styled
def samples_used_figure(used: dict, title: str = "noise samples each image's decision used (racing)"):
    """How many noise samples racing spent on each image: ``used`` {panel label: {series label: per-image counts}},
    one panel per entry (e.g. one per model), side-by-side bars per series (e.g. in and out of distribution) over the
    counts that occur (racing stops only at its looks, 4, 6, 9, 14, ..., or at its budget). Easy
    images stop at the left; the hard ones pile up at the budget."""
    fig, axes = plt.subplots(1, len(used), figsize=_fit(3.6 * len(used), 3.2), squeeze=False, sharey=True)
    for ax, (panel, series) in zip(axes[0], used.items()):
        values = sorted({int(c) for counts in series.values() for c in counts})
        width = 0.8 / len(series)
        for j, (label, counts) in enumerate(series.items()):
            counts = np.asarray(counts)
            share = [float((counts == v).mean()) for v in values]
            ax.bar(np.arange(len(values)) + (j - (len(series) - 1) / 2) * width, share, width, label=label)
        ax.set_xticks(range(len(values)))
        ax.set_xticklabels([str(v) for v in values])
        ax.set_title(panel)
        ax.set_xlabel("noise samples used")
        ax.grid(axis="y", alpha=0.3)
    axes[0, 0].set_ylabel("share of images")
    axes[0, 0].legend(loc="upper center")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


# -- figures that move without a kernel ------------------------------------------------------------------------------
# matplotlib's JavaScript player (``FuncAnimation.to_jshtml``): a slider and buttons over frames embedded as PNG, in
# one self-contained piece of HTML that works in the static book (no kernel, no CDN), in Jupyter and in Colab.
ANIMATION_DPI = 72  # the frames are embedded: each animation stays well under a megabyte
PLAYER_SYMBOLS = {"fa-minus": "\u2212", "fa-fast-backward": "\u21e4", "fa-step-backward": "|\u25c0",
                  "fa-play fa-flip-horizontal": "\u25c0", "fa-pause": "||", "fa-play": "\u25b6",
                  "fa-step-forward": "\u25b6|", "fa-fast-forward": "\u21e5", "fa-plus": "+"}


class Animation:
    """An animation as self-contained HTML: shown by Jupyter (``_repr_html_``) and by the book; ``.html`` the text,
    ``.frames`` how many frames it embeds."""

    def __init__(self, html: str, frames: int):
        self.html, self.frames = html, frames

    def _repr_html_(self) -> str:
        return self.html

    def __len__(self) -> int:  # bytes of HTML, the size the page grows by
        return len(self.html.encode())


def animate(fig, draw, frames: int, interval: int = 250) -> Animation:
    """``draw(i)`` redraws ``fig`` as frame ``i`` of ``frames``; the figure is closed after (so that Jupyter does not
    show its last frame a second time)."""
    from matplotlib.animation import FuncAnimation

    with plt.rc_context({"animation.frame_format": "png", "savefig.dpi": ANIMATION_DPI, "figure.dpi": ANIMATION_DPI}):
        anim = FuncAnimation(fig, draw, frames=frames, interval=interval, repeat=False)
        html = anim.to_jshtml(fps=1000 / interval, default_mode="once")
    plt.close(fig)
    # the player's buttons draw Font Awesome icons fetched from a CDN: text symbols instead, so that nothing is fetched
    html = re.sub(r'<link rel="stylesheet"\s+href="https://[^"]*font-awesome[^"]*">', "", html)
    for icon, symbol in PLAYER_SYMBOLS.items():
        html = html.replace(f'<i class="fa {icon}"></i>', symbol)
    if re.search(r'<i class="fa |https?://(?!www\.w3\.org)', html):
        raise RuntimeError("matplotlib's player changed: an icon or an address to fetch is left in the animation")
    return Animation(html, frames)


@_styled
def density_animation(world: StripeWorld, scene=(0, 2), w_max: float = 4.0, frames: int = 17) -> Animation:
    """``composed_density`` as the second expert's weight w2 moves from 0 (the first expert alone) to ``w_max`` (the
    second one insists), with w1 = 1 and T = 1."""
    weights = np.linspace(0.0, w_max, frames)
    fig, ax = plt.subplots(figsize=(3.8, 3.8))

    def draw(i):
        ax.clear()
        _draw_density(ax, world, scene, (1.0, weights[i]))
        ax.set_xticks([])
        ax.set_yticks([])

    draw(0)
    fig.tight_layout()
    return animate(fig, draw, frames)


@_styled
def search_animation(x: torch.Tensor, paths: torch.Tensor, truth, errors=None, frames: int = 25) -> Animation:
    """``trajectories_figure`` step by step: each initialisation's positions (and the path so far) at ``frames``
    evenly spaced steps of the search; white circles: the true positions."""
    steps = np.unique(np.linspace(0, paths.shape[0] - 1, frames).round().astype(int))
    S = x.shape[-1]
    fig, ax = plt.subplots(figsize=(3.8, 3.8))

    def draw(i):
        ax.clear()
        s = int(steps[i])
        _draw_paths(ax, x, paths[: s + 1], truth, errors)
        ax.set_xlim(-0.5, S - 0.5)
        ax.set_ylim(S - 0.5, -0.5)
        ax.set_title(f"step {s + 1} of {paths.shape[0]}", fontsize=9)

    draw(0)
    fig.tight_layout()
    return animate(fig, draw, len(steps))


@_styled
def noise_level_animation(x: torch.Tensor, t: torch.Tensor, errors: torch.Tensor, labels, truth: int) -> Animation:
    """A face x (C, H, W) and its configurations' denoising errors at one noise level after another: ``errors``
    (T, S) at the levels ``t`` (T,), each row the mean over the noise draws at that level. Bars show each error above
    the least at that level (dark: the least, IGM's answer there; red edge: the truth)."""
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 2.8), gridspec_kw={"width_ratios": [1, 4]})
    _show(axes[0], x)
    S = errors.shape[1]

    def draw(i):
        ax = axes[1]
        ax.clear()
        _error_bars(ax, (errors[i] - errors[i].min()).numpy(), int(truth))
        ax.set_xticks(range(S))
        ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=9)
        ax.set_ylabel("error above the least", fontsize=9)
        ax.set_title(f"noise level t = {int(t[i])} of 1000", fontsize=9)

    draw(0)
    fig.tight_layout()
    return animate(fig, draw, len(t), interval=400)


@_styled
def worlds_draws_animation(frames: list[tuple], readers=("latent", "resnet", "pixel"), labels=None) -> Animation:
    """The grid (``worlds_figure``) under one draw of the IGM readers' shared noise after another: ``frames`` [(draw,
    summary)] (``igm_lite.bench.worlds_by_draw``). The ResNet reads no noise: its markers stay; IGM's move."""
    fig, axes = plt.subplots(1, 2, figsize=_fit(10.0, 3.8), sharey=True)

    def draw(i):
        for ax in axes:
            ax.clear()
        _draw_worlds(axes, frames[i][1], readers, labels)
        axes[1].legend(loc="lower left", fontsize=8, frameon=False)
        fig.suptitle(f"noise draw {i + 1} of {len(frames)} (noise seed {frames[i][0]})", fontsize=10)

    draw(0)
    fig.tight_layout()
    return animate(fig, draw, len(frames), interval=800)


@_styled
def denoising_animation(xt: torch.Tensor, x0: torch.Tensor, t, title: str = "") -> Animation:
    """A sample drawn step by step: ``xt`` (steps, C, H, W) the noisy image after each step, ``x0`` (steps, C, H, W)
    the model's estimate of the clean image at that step, ``t`` the timesteps."""
    fig, axes = plt.subplots(1, 2, figsize=(4.6, 2.6))

    def draw(i):
        for ax, img, name in ((axes[0], xt[i], "x_t"), (axes[1], x0[i], "estimate of x_0")):
            ax.clear()
            _show(ax, img)
            ax.set_title(name, fontsize=9)
        fig.suptitle(f"{title}, t = {int(t[i])}" if title else f"t = {int(t[i])}", fontsize=9)

    draw(0)
    fig.tight_layout()
    return animate(fig, draw, len(t))
