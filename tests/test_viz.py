import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from igm_lite import viz  # noqa: E402
from igm_lite.data import StripeWorld  # noqa: E402


def rendered(fig):
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())
    plt.close(fig)
    return img


@pytest.mark.parametrize("w1, w2, T", [(1, 1, 1), (0, 0, 1), (5, 0, 0.03), (0, 5, 30), (1e-9, 1e9, 1e-9)])
def test_composed_density_survives_extreme_slider_values(w1, w2, T):
    img = rendered(viz.composed_density(StripeWorld(), (0, 2), (w1, w2), T))
    assert img.std() > 0  # something was drawn


def test_density_explorer_builds_headless():
    """The widget's headless stand-in: it builds, and moving a slider redraws without error."""
    box = viz.density_explorer(StripeWorld())
    w1 = box.children[0].children[0]
    w1.value = 5.0
    w1.value = 0.0
    assert len(box.children) == 2


def test_other_figures_draw():
    w = StripeWorld()
    for fig in [viz.experts_figure(w, [(0,), (0, 2)]), viz.energy_figure(w, (0, 2)), viz.score_figure(w, (0, 2), abar=0.5),
                viz.errors_figure(["a", "b"], [1.0, 0.5], "b"), viz.loss_figure([1.0] * 30)]:
        assert rendered(fig).std() > 0


def test_zero_shot_figures_draw():
    """Chapter 4: one-channel canvases, the pair-error map with its marks, and the accuracy bars."""
    import torch

    from igm_lite import subsets

    x = torch.rand(2, 1, 32, 32) * 2 - 1
    sets = subsets(5, 2)
    fig = viz.pair_errors_figure(x, torch.rand(2, len(sets)), sets, torch.rand(2, 5), [[0, 3], [1, 2]])
    assert rendered(fig).std() > 0 and len(fig.axes) == 6
    assert rendered(viz.faces_figure(x, ["a", "b"])).std() > 0
    assert rendered(viz.method_bars({"IGM": 0.5, "DC": 0.4}, paper={"IGM": 0.87})).std() > 0


def test_noise_level_votes_figure_plots_the_share_of_votes_per_bin():
    """Samples below t = 100 vote "present" on every face, the others vote for the truth: the solid and dashed
    lines of the first bin both sit at 1, and at 1 / 0 in the others; the bottom row shows vote sizes."""
    import torch

    t = torch.tensor([10, 50, 300, 600, 900])
    attrs = torch.tensor([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]])
    sign = attrs.float() * 2 - 1  # +1 present, -1 absent
    vote = sign.unsqueeze(1).repeat(1, 5, 1) * torch.tensor([1.0, 1.0, 0.1, 0.01, 0.001]).view(1, 5, 1)
    vote[:, :2] = 5.0  # t < 100: "present" whatever the truth
    fig = viz.noise_level_votes_figure(t, {"B": (vote, attrs)}, ["hair", "glasses", "smile"], bins=(0, 100, 500, 800, 1000))
    solid, dashed, size = fig.axes[0].lines[0].get_ydata(), fig.axes[0].lines[1].get_ydata(), fig.axes[3].lines[0].get_ydata()
    assert list(solid) == [1.0, 1.0, 1.0, 1.0] and list(dashed) == [1.0, 0.0, 0.0, 0.0]
    assert np.allclose(size, [5.0, 0.1, 0.01, 0.001])
    assert rendered(fig).std() > 0


def test_figures_fit_the_page_and_their_text_is_legible():
    """At most viz.MAX_WIDTH inches wide (a wider figure is shrunk to the page, and its text with it), no text under 9 pt."""
    import torch
    from matplotlib.text import Text

    from igm_lite import subsets

    w = StripeWorld()
    x = torch.rand(16, 3, 32, 32) * 2 - 1
    sets = subsets(5, 2)
    votes = {"A": (torch.randn(4, 5, 3), torch.randint(0, 2, (4, 3)))}
    figs = [viz.faces_figure(x, [f"face {i}" for i in range(16)], ncols=16, title="sixteen faces in a row"),
            viz.experts_figure(w, [(0,), (0, 2), (1,), (1, 2)]), viz.errors_figure([f"s{i}" for i in range(40)], list(range(40)), "s3"),
            viz.noise_level_votes_figure(torch.tensor([10, 50, 300, 600, 900]), votes, ["hair", "glasses", "smile"]),
            viz.pair_errors_figure(x[:2, :1], torch.rand(2, len(sets)), sets, torch.rand(2, 5), [[0, 3], [1, 2]]),
            viz.configuration_errors_figure(x[:2], torch.rand(2, 8), [f"c{i}" for i in range(8)], [0, 1])]
    for fig in figs:
        width = fig.get_size_inches()[0]
        assert width <= viz.MAX_WIDTH + 1e-6, f"a figure {width:.1f} in wide"
        small = {t.get_text() for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible() and t.get_fontsize() < 9}
        assert not small, f"text under 9 pt: {sorted(small)[:5]}"
        plt.close(fig)


def test_figures_draw_in_the_book_style_and_leave_the_callers_settings_alone():
    """viz's font sizes apply inside its figures only: importing or drawing changes no matplotlib setting."""
    import importlib

    import matplotlib

    with matplotlib.rc_context({"axes.titlesize": 17}):
        importlib.reload(viz)
        assert plt.rcParams["axes.titlesize"] == 17
        fig = viz.method_bars({"a": 0.5, "b": 0.7}, title="two methods")
        assert plt.rcParams["axes.titlesize"] == 17
        assert fig.axes[0].title.get_fontsize() == viz.STYLE["axes.titlesize"]
        plt.close(fig)


def test_samples_used_figure_has_a_bar_per_count_and_series():
    """One panel per model, one bar per count that occurs and series, each bar the share of images at that count."""
    fig = viz.samples_used_figure({"pixels": {"in": [2, 2, 3, 16], "out": [16, 16, 9, 16]}, "latents": {"in": [3], "out": [32]}})
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "3", "9", "16"]
    heights = sorted(round(p.get_height(), 2) for p in ax.patches)
    assert heights == sorted([0.5, 0.25, 0.0, 0.25] + [0.0, 0.0, 0.25, 0.75])
    assert rendered(fig).std() > 0


def _frames(anim):
    """The PNG frames an animation embeds, decoded."""
    import base64
    import io
    import re

    from PIL import Image

    pngs = re.findall(r'frames\[\d+\] = "data:image/png;base64,([^"]+)"', anim.html)
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(p)))) for p in pngs]


def test_animations_embed_every_frame_and_the_frames_differ():
    """Each animation is one piece of HTML with a slider over its frames (no kernel, nothing fetched from a CDN), one
    PNG per frame, under a megabyte; consecutive frames are not the same picture, and no figure is left open."""
    import torch

    x = torch.linspace(-1, 1, 3 * 16 * 16).view(3, 16, 16)
    paths = torch.linspace(0.2, 0.8, 30).view(30, 1, 1, 1).expand(30, 2, 2, 2)
    xt = torch.linspace(-1, 1, 16 * 16).view(1, 1, 16, 16) * torch.linspace(1, 0, 5).view(5, 1, 1, 1)
    before = plt.get_fignums()
    anims = {"density": viz.density_animation(StripeWorld(), (0, 2), frames=5),
             "search": viz.search_animation(x, paths, torch.full((2, 2), 0.5), torch.tensor([1.0, 0.5]), frames=5),
             "noise": viz.noise_level_animation(x, torch.tensor([40, 500, 960]), torch.tensor([[0.0, 1, 2], [2, 0, 1], [1, 2, 0]]), ["a", "b", "c"], 1),
             "denoise": viz.denoising_animation(xt, xt.flip(0), [800, 600, 400, 200, 0], "one caption")}
    assert plt.get_fignums() == before
    for name, anim in anims.items():
        frames = _frames(anim)
        assert len(frames) == anim.frames >= 3, name
        assert 'type="range"' in anim.html and anim._repr_html_() == anim.html and "https://" not in anim.html and "fa-" not in anim.html, name
        assert all(not np.array_equal(a, b) for a, b in zip(frames, frames[1:])), f"{name}: a frame repeats the one before"
        assert len(anim) < 1_000_000


def test_a_sample_can_be_watched_step_by_step():
    import torch

    from igm_lite import make_scheduler
    from igm_lite.compose import ComposedDenoiser  # noqa: F401  (the type sample() drives)
    from igm_lite.sample import sample

    class Zero(torch.nn.Module):
        def forward(self, x, t, c, mask):
            return torch.zeros_like(x)

    trace = []
    x = sample(Zero(), torch.zeros(2, 1, 3), None, (1, 4, 4), make_scheduler(), steps=5, generator=torch.Generator().manual_seed(0), trace=trace)
    assert [t for t, _, _ in trace] == sorted((t for t, _, _ in trace), reverse=True) and len(trace) == 5
    assert torch.equal(trace[-1][1], x) and trace[0][2].shape == x.shape
