"""The notebook labeling widget, driven programmatically (button clicks, typed keys)."""

import importlib
import io
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytestmark = pytest.mark.usefixtures("one_torch_thread")

from skcryoal import CryoNetClassifier  # noqa: E402
from skcryoal.campaign import Campaign, _widget  # noqa: E402
from skcryoal.campaign._slices import render_orthoslices, slab_orthoslices  # noqa: E402
from skcryoal.campaign._widget import (  # noqa: E402
    KEY_SENTINEL,
    CampaignWidget,
    class_shortcuts,
)
from skcryoal.datasets import make_subtomograms  # noqa: E402

CLASSES = ["ribosome", "proteasome", "membrane"]


def make_campaign(folder, classes=CLASSES, n=12, n_queued=4):
    """A real campaign of ``n`` simulated 16^3 particles, ``n_queued`` queued (cold start)."""
    X, _ = make_subtomograms(n, len(classes), size=16, snr=0.5, random_state=0)
    clf = CryoNetClassifier(module__width=4, max_epochs=2, batch_size=8, random_state=0)
    campaign = Campaign.create(
        folder, X, list(classes), estimator=clf, random_state=0, annotator="ada"
    )
    if n_queued:
        campaign.query(n_queued)
    return campaign


@pytest.fixture
def campaign(tmp_path):
    c = make_campaign(tmp_path / "campaign")
    yield c
    c.close()


def labeled(campaign):
    """Labels in the store, read through a second handle: particle id -> class."""
    with Campaign.open(campaign.path) as other:
        table = other.labels()
    return dict(zip(table["particle_id"].tolist(), table["label"].tolist()))


def skipped(campaign):
    table = campaign.particles()
    return set(table.loc[table["skipped"], "particle_id"].tolist())


def type_key(widget, key):
    """Type one key into the widget's key box, as the browser would send it."""
    widget.keys.value = "" if key == "Backspace" else KEY_SENTINEL + key


# -- rendering ------------------------------------------------------------------------------


def test_slab_orthoslices_central_and_averaged():
    v = np.arange(5 * 6 * 7, dtype=np.float32).reshape(5, 6, 7)
    xy, xz, yz = slab_orthoslices(v, slab=1)
    np.testing.assert_array_equal(xy, v[2])
    np.testing.assert_array_equal(xz, v[:, 3, :])
    np.testing.assert_array_equal(yz, v[:, :, 3])
    xy3, _, _ = slab_orthoslices(v, slab=3)
    np.testing.assert_allclose(xy3, v[1:4].mean(axis=0))
    # a slab thicker than the volume averages all of it
    xy_all, _, _ = slab_orthoslices(v, slab=99)
    np.testing.assert_allclose(xy_all, v.mean(axis=0))


def test_slab_orthoslices_rejects_non_volumes():
    with pytest.raises(ValueError, match=r"shape \(D, H, W\); got \(4, 4\)"):
        slab_orthoslices(np.zeros((4, 4)))


def test_render_orthoslices_pngs_sizes_and_speed():
    from PIL import Image

    volume = np.random.default_rng(0).normal(size=(32, 24, 16)).astype(np.float32)
    pngs = render_orthoslices(volume, slab=3, size=192)
    shapes = [Image.open(io.BytesIO(p)).size for p in pngs]
    assert shapes == [(16 * 6, 24 * 6), (16 * 6, 32 * 6), (24 * 6, 32 * 6)]  # (width, height)
    cube = np.random.default_rng(1).normal(size=(32, 32, 32)).astype(np.float32)
    render_orthoslices(cube)  # warm up the imports
    start = time.perf_counter()
    for _ in range(5):
        render_orthoslices(cube, slab=5)
    assert (time.perf_counter() - start) / 5 < 0.1


def test_render_orthoslices_constant_volume():
    pngs = render_orthoslices(np.ones((8, 8, 8), dtype=np.float32))
    assert all(p.startswith(b"\x89PNG") for p in pngs)


def test_class_shortcuts_digits_then_letters_without_s_and_u():
    classes = [f"c{i}" for i in range(40)]
    keys = list(class_shortcuts(classes))
    assert keys[:9] == list("123456789")
    assert keys[9:12] == ["a", "b", "c"]
    assert "s" not in keys and "u" not in keys
    assert len(keys) == 9 + 24  # later classes have buttons only


# -- the widget -----------------------------------------------------------------------------


def test_importing_campaign_does_not_need_ipywidgets():
    code = (
        "import sys; sys.modules['ipywidgets'] = None\n"  # as if not installed
        "import skcryoal.campaign, skcryoal.campaign._widget"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_missing_ipywidgets_gives_install_hint(monkeypatch, campaign):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    # importing the module must not need ipywidgets
    importlib.reload(_widget)
    with pytest.raises(ImportError, match=r"pip install 'skcryoal\[notebook\]'"):
        _widget.CampaignWidget(campaign)


def test_shows_first_queued_with_three_panels(campaign):
    w = CampaignWidget(campaign)
    assert w.current == campaign.queued()[0]
    assert all(bytes(image.value[:4]) == b"\x89PNG" for image in w.images)
    assert f"Particle {w.current}" in w.header.value
    assert list(w.class_buttons) == CLASSES
    assert w.class_buttons["ribosome"].description.startswith("1")
    bundle = w._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_button_click_labels_at_once_and_advances(campaign):
    w = CampaignWidget(campaign, annotator="ada")
    first, second = campaign.queued()[:2]
    w.class_buttons["proteasome"].click()
    assert labeled(campaign) == {first: "proteasome"}
    assert w.current == second
    assert w.error.value == ""
    assert "proteasome" in w.message.value


def test_keys_map_to_classes_skip_and_undo(campaign):
    w = CampaignWidget(campaign)
    a, b, c = campaign.queued()[:3]
    type_key(w, "3")
    assert labeled(campaign) == {a: "membrane"}
    assert w.keys.value == KEY_SENTINEL  # the box clears itself
    type_key(w, "S")  # case is ignored
    assert skipped(campaign) == {b}
    assert w.current == c
    type_key(w, "Backspace")
    assert skipped(campaign) == set() and w.current == b
    type_key(w, "u")
    assert labeled(campaign) == {} and w.current == a
    type_key(w, "x")
    assert "does nothing" in w.message.value
    assert w.current == a


def test_press_returns_what_it_did(campaign):
    w = CampaignWidget(campaign)
    pid = w.current
    assert w.press("1") == pid
    assert w.press("u")["particle_ids"] == [pid]
    assert w.press("u") is None
    assert "Nothing to undo" in w.message.value
    assert w.press("?") is None


def test_skip_and_undo_buttons(campaign):
    w = CampaignWidget(campaign)
    first = w.current
    w.skip_button.click()
    assert skipped(campaign) == {first} and w.current != first
    w.undo_button.click()
    assert skipped(campaign) == set() and w.current == first
    assert f"Undid the skip of particle {first}" in w.message.value


def test_progress_counts_update(campaign):
    w = CampaignWidget(campaign)
    assert (w.progress.value, w.progress.max) == (0, 4)
    w.click("ribosome")
    w.click("ribosome")
    w.skip()
    assert (w.progress.value, w.progress.max) == (2, 3)
    assert "2 labeled" in w.counts.value and "1 queued" in w.counts.value
    assert "1 skipped" in w.counts.value
    assert "ribosome 2" in w.counts.value
    assert "pretrained encoder: none" in w.counts.value


def test_the_widget_says_whether_the_model_is_pretrained(campaign):
    from skcryoal.pretraining import SubtomogramEmbedder

    campaign.pretrain(
        SubtomogramEmbedder(width=4, max_epochs=1, batch_size=4, random_state=0), progress=False
    )
    w = CampaignWidget(campaign)
    assert "pretrained encoder: simclr, 1 epochs" in w.counts.value
    assert "no model fitted yet" in w.counts.value


def test_slab_slider_redraws(campaign):
    w = CampaignWidget(campaign, slab=1)
    before = w.images[0].value
    w.slab_slider.value = 5
    assert w.images[0].value != before


def test_empty_queue_says_so_and_offers_retrain(campaign):
    w = CampaignWidget(campaign)
    for _ in range(4):
        w.press("1")
    assert w.current is None
    assert "queue is empty" in w.header.value
    assert all(b.disabled for b in w.class_buttons.values()) and w.skip_button.disabled
    assert not w.retrain_button.disabled and w.retrain_button.button_style == "primary"
    with pytest.raises(RuntimeError, match="queue is empty"):
        w.click("ribosome")
    assert "queue is empty" in w.error.value


def count_fits(campaign, monkeypatch):
    fits, real_fit = [], campaign.fit

    def fit(**kwargs):
        fits.append(kwargs)
        return real_fit(**kwargs)

    monkeypatch.setattr(campaign, "fit", fit)
    return fits


def test_retrain_fits_queues_and_fills_the_bar(campaign, monkeypatch):
    fits = count_fits(campaign, monkeypatch)
    w = CampaignWidget(campaign, batch_size=3)
    w.press("1")
    w.press("2")
    seen = []
    w.train_progress.observe(lambda ch: seen.append(ch["new"]), names="value")
    w.batch_size_input.value = 5
    w.retrain_button.click()
    assert w.error.value == ""
    assert len(fits) == 1 and len(campaign.status().models) == 1
    assert w.train_progress.value == w.train_progress.max == 2  # max_epochs=2
    assert seen == [1, 2]  # the bar followed the epochs
    assert len(campaign.queued()) == 2 + 5
    assert "Retrained and queued 5 particles" in w.message.value
    assert "round 2" in w.counts.value
    assert not w.retrain_button.disabled
    # the model is fitted on exactly these labels: the next batch needs no retraining;
    # 5 are asked for, 3 are left
    ids = w.retrain()
    assert len(fits) == 1 and len(ids) == 3
    assert "up to date" in w.message.value and "queued 3 particles" in w.message.value
    w.retrain()
    assert "nothing queued" in w.message.value and w.error.value == ""


def test_retrain_without_labels_only_queues(tmp_path, monkeypatch):
    c = make_campaign(tmp_path / "fresh", n_queued=0)
    fits = count_fits(c, monkeypatch)
    w = CampaignWidget(c)
    assert w.current is None
    ids = w.retrain()
    assert fits == []
    assert len(ids) == 12  # batch_size 16 clipped to the 12 particles
    assert w.current == ids[0]
    assert "Fewer than 2 labels" in w.message.value


def test_campaign_error_is_shown_in_the_widget(campaign):
    w = CampaignWidget(campaign)
    pid = w.current
    with pytest.raises(ValueError, match="unknown class 'ribozyme'"):
        w.click("ribozyme")
    assert "unknown class" in w.error.value and "ribozyme" in w.error.value
    assert w.current == pid and labeled(campaign) == {}
    w.click("ribosome")  # a success clears the error
    assert w.error.value == ""


def test_error_in_a_button_callback_is_shown_not_raised(campaign, monkeypatch):
    def broken_fit(*, on_epoch=None):
        on_epoch(1, 3)
        raise RuntimeError("out of memory")

    monkeypatch.setattr(campaign, "fit", broken_fit)
    w = CampaignWidget(campaign)
    w.press("1")
    w.press("2")
    w.retrain_button.click()  # must not raise: ipywidgets would hide it in the JS console
    assert "out of memory" in w.error.value
    assert w.train_progress.bar_style == "danger"
    assert not w.retrain_button.disabled  # the widget stays usable


def test_unreadable_volume_is_shown_and_can_be_skipped(campaign, monkeypatch):
    def broken_volume(pid):
        raise OSError(f"particle_{pid}.mrc: file is truncated")

    monkeypatch.setattr(campaign, "volume", broken_volume)
    w = CampaignWidget(campaign)
    assert "file is truncated" in w.error.value
    assert not w.skip_button.disabled


def test_provenance_is_shown(campaign):
    w = CampaignWidget(campaign)
    assert "skcryoal_file: pool.npy" in w.header.value
    assert "round: 1" in w.header.value
    assert "skipped" not in w.header.value  # label state is not provenance


def test_undo_withdraws_this_annotators_action_only(campaign):
    w = CampaignWidget(campaign)  # annotator: the campaign handle's ("ada")
    first, second = campaign.queued()[:2]
    w.press("1")
    with Campaign.open(campaign.path, annotator="bob") as bob:
        bob.label([second], "membrane")
    record = w.undo()
    assert record["annotator"] == "ada" and record["particle_ids"] == [first]
    assert labeled(campaign) == {second: "membrane"}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"slab": 0}, "slab must be a positive integer; got 0"),
        ({"batch_size": 2.5}, "batch_size must be a positive integer"),
        ({"cmap": "grey_nope"}, "cmap must be a matplotlib colormap"),
        ({"percentiles": (99, 1)}, r"0 <= low < high <= 100, e.g. \(1, 99\); got \(99, 1\)"),
    ],
)
def test_bad_parameters(campaign, kwargs, match):
    with pytest.raises(ValueError, match=match):
        CampaignWidget(campaign, **kwargs)


def test_integer_classes_are_passed_back_as_integers(tmp_path):
    c = make_campaign(tmp_path / "ints", classes=[0, 1, 2], n_queued=2)
    w = CampaignWidget(c)
    pid = w.current
    w.class_buttons[2].click()
    assert labeled(c) == {pid: 2}
    assert w.class_buttons[2].description == "3  2"


def test_each_decision_is_stored_with_its_time_on_screen(campaign, monkeypatch):
    clock = iter([100.0, 107.5, 107.5, 110.0, 112.0])  # drawn, labeled+next drawn, skipped...
    monkeypatch.setattr(CampaignWidget, "_clock", staticmethod(lambda: next(clock)))
    w = CampaignWidget(campaign, annotator="ada")
    w.class_buttons["proteasome"].click()  # on screen 100.0 -> 107.5
    w.skip()  # the next one, drawn at 107.5, skipped at 110.0
    table = campaign.annotation_cost().per_annotator.set_index("annotator")
    assert table.loc["ada", "n_timed"] == 2
    assert table.loc["ada", "hours"] * 3600 == pytest.approx(7.5 + 2.5)
    # a redraw of the same particle (slab slider) keeps its first display's time
    w.slab_slider.value = 3
    assert w._shown[1] == 112.0
