"""A notebook widget to label a campaign's queued particles with clicks or keys.

ipywidgets is an optional dependency (``pip install 'skcryoal[notebook]'``): it is imported
when a :class:`CampaignWidget` is built, never when :mod:`skcryoal.campaign` is imported.

Keyboard shortcuts work in JupyterLab and classic Notebook without custom JavaScript: the
widget has a small text box; while it has focus, each typed key is read by the kernel, acted
on, and the box is cleared. The box rests holding one invisible character (a zero-width
space) so that Backspace, which deletes it, is seen too.
"""

import html
import string
import time

import numpy as np

from ._slices import check_percentiles, render_orthoslices

__all__ = ["CampaignWidget"]

_INSTALL_HINT = "pip install 'skcryoal[notebook]'"

#: What the key box holds between keys; Backspace deletes it, which is how we see Backspace.
KEY_SENTINEL = "\u200b"

_SKIP_KEYS = ("s",)
_UNDO_KEYS = ("u", "backspace")
# Class shortcuts: 1..9, then the letters not taken by skip and undo.
_CLASS_KEYS = tuple("123456789") + tuple(c for c in string.ascii_lowercase if c not in "su")

_VIEWS = ("XY", "XZ", "YZ")


def _import_ipywidgets():
    try:
        import ipywidgets
    except ImportError as exc:
        raise ImportError(
            "The campaign widget needs ipywidgets (>=8), which is not installed. "
            f"Install the notebook extra: {_INSTALL_HINT}"
        ) from exc
    return ipywidgets


def class_shortcuts(classes):
    """Map keyboard keys to classes: ``1``..``9``, then letters (``s`` and ``u`` excluded).

    Parameters
    ----------
    classes : sequence of int or str
        The campaign's classes, in order.

    Returns
    -------
    shortcuts : dict of str to class
        Key to class. Classes beyond the 33rd have no shortcut (buttons only).

    Examples
    --------
    >>> from skcryoal.campaign._widget import class_shortcuts
    >>> class_shortcuts(["ribosome", "proteasome"])
    {'1': 'ribosome', '2': 'proteasome'}
    """
    return dict(zip(_CLASS_KEYS, classes))


def _normalize_key(key):
    if not isinstance(key, str) or not key:
        raise ValueError(
            f"key must be a non-empty string such as '1', 's' or 'Backspace'; got {key!r}."
        )
    return key.lower()


# -- rendering ------------------------------------------------------------------------------


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


def _describe_undo(record):
    if not isinstance(record, dict):
        return str(record)
    action = str(record.get("kind") or record.get("action") or "action")
    labels = [lab for lab in record.get("labels") or () if lab is not None]
    if labels:
        action += " " + ", ".join(sorted({str(lab) for lab in labels}))
    ids = record.get("particle_ids", record.get("ids"))
    if ids is not None:
        ids = ", ".join(str(int(i)) for i in np.atleast_1d(ids))
        return f"{action} of particle {ids}"
    return action


# Columns of ``Campaign.particles()`` that change with every label: not provenance.
_STATE_COLUMNS = ("particle_id", "label", "annotator", "labeled_at", "skipped", "queued")


def _provenance_row(table, particle_id):
    """The row of ``campaign.particles()`` that describes one particle, as a dict."""
    import pandas as pd

    if not isinstance(table, pd.DataFrame) or "particle_id" not in table.columns:
        return {}
    rows = table[table["particle_id"] == particle_id]
    if len(rows) == 0:
        return {}
    return {
        str(k): v
        for k, v in rows.iloc[0].items()
        if str(k) not in _STATE_COLUMNS and not (pd.api.types.is_scalar(v) and pd.isna(v))
    }


def _format_value(value):
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return str(value)


class CampaignWidget:
    """Label a campaign's queued particles in a notebook, by mouse or keyboard.

    Shows the first queued particle as three orthoslices (central XY, XZ and YZ planes
    of its (z, y, x) volume, optionally each averaged over a slab of ``slab`` slices),
    its id and provenance (from ``campaign.particles()``), one button per class, skip
    and undo,
    the campaign's progress, and a button that retrains the model and queues the next
    batch. Every label is written to the campaign the moment it is given, with the time
    the particle was on screen before it (display to click; see
    :meth:`Campaign.annotation_cost`).

    Keyboard: click into the "Keys" box, then type ``1``..``9`` (then letters) for the
    classes in order, ``s`` to skip, ``u`` or Backspace to undo.

    Errors raised by the campaign are shown in the widget; called from Python, the
    methods also raise them.

    Parameters
    ----------
    campaign : Campaign
        The annotation campaign (see :class:`skcryoal.campaign.Campaign`).
    annotator : str, default=None
        Name recorded with every label and skip; undo withdraws this annotator's last
        action. None uses the campaign handle's ``annotator``.
    slab : int, default=1
        Slices averaged around the centre of each orthoslice; the widget has a slider.
    batch_size : int, default=16
        Particles queued by "Retrain and queue" (fewer when fewer are left unqueued); the
        widget has a field.
    cmap : str, default="gray"
        Matplotlib colormap of the orthoslices.
    percentiles : tuple of 2 floats, default=(1.0, 99.0)
        Grey-level range of the displayed planes.
    panel_size : int, default=192
        Approximate size in pixels of each orthoslice panel.

    Attributes
    ----------
    widget : ipywidgets.VBox
        The widget to display (the notebook displays a ``CampaignWidget`` as this).
    class_buttons : dict of class to ipywidgets.Button
        One button per class, in class order.
    skip_button, undo_button, retrain_button : ipywidgets.Button
        Skip the shown particle; undo the last label or skip; retrain and queue a batch.
    keys : ipywidgets.Text
        The box that reads keyboard shortcuts.
    images : tuple of 3 ipywidgets.Image
        The XY, XZ and YZ panels.
    slab_slider : ipywidgets.IntSlider
        Slices averaged per panel.
    batch_size_input : ipywidgets.BoundedIntText
        Particles to queue per retrain.
    progress : ipywidgets.IntProgress
        Labeled particles out of labeled plus queued.
    train_progress : ipywidgets.IntProgress
        Epochs done during a retrain.
    header, counts, message, error : ipywidgets.HTML
        Particle id and provenance; counts per status and class; what the last action
        did; the last error (empty when the last action succeeded).
    shortcuts : dict of str to class
        Key to class (int or str, as in ``campaign.classes``).
    last_error : Exception or None
        The last error shown.

    Examples
    --------
    In a notebook::

        from skcryoal.campaign import CampaignWidget
        CampaignWidget(campaign, annotator="ada")  # the last expression displays it

    Programmatically (what the buttons do)::

        w = CampaignWidget(campaign)
        w.current          # id of the particle shown
        w.press("1")       # label it with the first class, show the next
        w.undo()
        w.retrain()        # fit, then queue ``batch_size`` more
    """

    def __init__(
        self,
        campaign,
        *,
        annotator: str | None = None,
        slab: int = 1,
        batch_size: int = 16,
        cmap: str = "gray",
        percentiles=(1.0, 99.0),
        panel_size: int = 192,
    ):
        ipywidgets = _import_ipywidgets()
        import matplotlib

        self.campaign = campaign
        # Undo withdraws this annotator's last action, not someone else's on a shared campaign.
        if annotator is None:
            annotator = getattr(campaign, "annotator", None)
        self.annotator = annotator
        self.cmap = cmap
        self.percentiles = check_percentiles(percentiles)
        self.panel_size = _check_positive_int(panel_size, "panel_size")
        slab = _check_positive_int(slab, "slab")
        batch_size = _check_positive_int(batch_size, "batch_size")
        if cmap not in matplotlib.colormaps:
            raise ValueError(
                f"cmap must be a matplotlib colormap name such as 'gray'; got {cmap!r}."
            )
        self.classes = list(campaign.classes)  # int or str classes, passed back as they are
        self.shortcuts = class_shortcuts(self.classes)
        self.last_error = None
        self._current = None
        self._n_queued = 0
        self._volume = (None, None)  # (particle id, volume) of the panels shown
        self._shown = (None, None)  # (particle id, monotonic time it was first drawn)
        self._particles = None  # campaign.particles(), read once when first needed
        self._busy = False
        self._build(ipywidgets, slab, batch_size)
        self.refresh()

    # -- layout ---------------------------------------------------------------------------

    def _build(self, w, slab, batch_size):
        key_of = {name: key for key, name in self.shortcuts.items()}
        self.header = w.HTML()
        self.images = tuple(w.Image(format="png") for _ in _VIEWS)
        panels = [
            w.VBox([image, w.HTML(f"<center><small>{view}</small></center>")])
            for image, view in zip(self.images, _VIEWS)
        ]
        self._panels = w.HBox(panels)
        max_slab = int(min(self.campaign.volume_shape))
        self.slab_slider = w.IntSlider(
            value=min(slab, max_slab),
            min=1,
            max=max(1, max_slab),
            step=1,
            description="Slab",
            continuous_update=False,
            tooltip="Slices averaged around the centre of each panel",
        )
        self.slab_slider.observe(lambda change: self._draw(), names="value")

        self.class_buttons = {}
        for name in self.classes:
            key = key_of.get(name)
            button = w.Button(
                description=f"{key}  {name}" if key else str(name),
                tooltip=f"Label as {name}" + (f" (key {key})" if key else ""),
                layout=w.Layout(width="auto"),
            )
            button.on_click(lambda _, name=name: self._ui(self.click, name, refocus=True))
            self.class_buttons[name] = button
        self.skip_button = w.Button(description="s  Skip", tooltip="Skip this particle (key s)")
        self.skip_button.on_click(lambda _: self._ui(self.skip, refocus=True))
        self.undo_button = w.Button(
            description="u  Undo", tooltip="Undo the last label or skip (key u or Backspace)"
        )
        self.undo_button.on_click(lambda _: self._ui(self.undo, refocus=True))
        self.keys = w.Text(
            value=KEY_SENTINEL,
            description="Keys",
            continuous_update=True,
            tooltip="Click here, then type: 1..9 classes, s skip, u / Backspace undo",
            layout=w.Layout(width="150px"),
        )
        self.keys.observe(self._on_keys, names="value")

        self.message = w.HTML()
        self.error = w.HTML()
        self.progress = w.IntProgress(
            value=0, min=0, max=1, description="Labeled", bar_style="success"
        )
        self.counts = w.HTML()

        n_particles = max(1, int(self.campaign.n_particles))
        self.batch_size_input = w.BoundedIntText(
            value=min(batch_size, n_particles),
            min=1,
            max=n_particles,
            description="Batch",
            layout=w.Layout(width="150px"),
        )
        self.retrain_button = w.Button(
            description="Retrain and queue next batch",
            tooltip="Fit the model on all labels, then queue the next batch",
            layout=w.Layout(width="auto"),
        )
        self.retrain_button.on_click(lambda _: self._ui(self.retrain))
        self.train_progress = w.IntProgress(value=0, min=0, max=1, description="Training")
        self.train_progress.layout.visibility = "hidden"

        keys = ", ".join(f"{k} {name}" for k, name in self.shortcuts.items())
        help_text = w.HTML(
            f"<small>Keys (click the box first): {html.escape(keys)}; s skip; "
            "u or Backspace undo.</small>"
        )
        self.widget = w.VBox(
            [
                self.header,
                self._panels,
                self.slab_slider,
                w.HBox(list(self.class_buttons.values()), layout=w.Layout(flex_flow="row wrap")),
                w.HBox([self.skip_button, self.undo_button, self.keys]),
                help_text,
                self.message,
                self.error,
                w.HBox([self.progress, self.counts]),
                w.HBox([self.batch_size_input, self.retrain_button, self.train_progress]),
            ]
        )

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def close(self):
        """Close the widget and all its children (they stop rendering)."""

        def close(widget):
            for child in getattr(widget, "children", ()):
                close(child)
            widget.close()

        close(self.widget)

    # -- state ----------------------------------------------------------------------------

    @property
    def current(self):
        """Id of the particle shown (int), or None when the queue is empty."""
        return self._current

    def refresh(self):
        """Re-read the queue and the counts from the campaign and redraw.

        Call it when someone else labeled with the same campaign. The actions call it.
        """
        try:
            queue = np.asarray(self.campaign.queued())
            status = self.campaign.status()
        except Exception as exc:
            self._show_error(exc, "read the campaign")
            raise
        self._current = int(queue[0]) if len(queue) else None
        self._n_queued = len(queue)
        self._draw()
        self._show_counts(status)
        self._set_enabled()

    def _draw(self):
        pid = self._current
        if pid is None:
            self._panels.layout.display = "none"
            self.header.value = (
                "<b>The queue is empty.</b> Retrain and queue the next batch to go on labeling."
            )
            return
        self.header.value = (
            f"<b>Particle {pid}</b> &middot; first of {self._n_queued} queued"
            + self._provenance_html(pid)
        )
        try:
            if self._volume[0] != pid:
                self._volume = (pid, np.asarray(self.campaign.volume(pid)))
            pngs = render_orthoslices(
                self._volume[1],
                slab=self.slab_slider.value,
                cmap=self.cmap,
                percentiles=self.percentiles,
                size=self.panel_size,
            )
        except Exception as exc:
            # Shown, not raised: the label just given is saved, and the user can skip a
            # particle whose volume cannot be read.
            self._panels.layout.display = "none"
            self._show_error(exc, f"show particle {pid}")
            return
        for image, png in zip(self.images, pngs):
            image.value = png
        self._panels.layout.display = None
        if self._shown[0] != pid:  # a redraw (slab, refresh) keeps the first display's time
            self._shown = (pid, self._clock())

    #: the clock of decision times (a test may replace it)
    _clock = staticmethod(time.monotonic)

    def _seconds(self, pid):
        """Seconds ``pid`` has been on screen, or None if it was never drawn."""
        shown, since = self._shown
        return None if shown != pid else max(0.0, self._clock() - since)

    def _provenance_html(self, pid):
        particles = getattr(self.campaign, "particles", None)
        if not callable(particles):
            return ""
        try:
            if self._particles is None:
                self._particles = particles()
            row = _provenance_row(self._particles, pid)
        except Exception as exc:  # provenance is extra information: show why it is missing
            self._show_error(exc, f"read the provenance of particle {pid}")
            return ""
        if not row:
            return ""
        items = " &middot; ".join(
            f"{html.escape(k)}: {html.escape(_format_value(v))}" for k, v in row.items()
        )
        return f"<br><small>{items}</small>"

    def _show_counts(self, status):
        n_labeled, n_queued = int(status.n_labeled), int(status.n_queued)
        self.progress.max = max(1, n_labeled + n_queued)
        self.progress.value = n_labeled
        per_class = " &middot; ".join(
            f"{html.escape(str(name))} {count}" for name, count in status.per_class.items()
        )
        self.counts.value = (
            f"{n_labeled} labeled &middot; {n_queued} queued &middot; "
            f"{int(status.n_skipped)} skipped &middot; {int(status.n_unlabeled)} unlabeled, "
            f"of {int(status.n_particles)} &middot; round {int(status.n_rounds)}"
            f"<br><small>per class: {per_class or 'none yet'}</small>"
            f"<br><small>pretrained encoder: {html.escape(status._pretrained_line())}</small>"
        )

    def _set_enabled(self):
        empty = self._current is None
        for button in self.class_buttons.values():
            button.disabled = self._busy or empty
        self.skip_button.disabled = self._busy or empty
        self.undo_button.disabled = self._busy
        self.retrain_button.disabled = self._busy
        self.keys.disabled = self._busy
        # An empty queue leaves retraining as the way on: make it the obvious button.
        self.retrain_button.button_style = "primary" if empty else ""

    # -- errors ---------------------------------------------------------------------------

    def _show_error(self, exc, doing):
        self.last_error = exc
        self.error.value = (
            '<div style="color:#b00020;border:1px solid #b00020;padding:4px">'
            f"<b>Could not {html.escape(doing)}:</b> "
            f"{html.escape(type(exc).__name__)}: {html.escape(str(exc))}</div>"
        )

    def _clear_error(self):
        self.error.value = ""

    def _ui(self, method, *args, refocus=False):
        # Buttons and keys: an exception raised in a callback would only reach the
        # front-end's log, so it is shown in the widget instead (methods show their own).
        try:
            method(*args)
        except Exception as exc:
            if exc is not self.last_error:
                self._show_error(exc, getattr(method, "__name__", "act"))
        if refocus:
            self.keys.focus()

    def _require_current(self, doing):
        if self._current is None:
            exc = RuntimeError(
                f"Nothing to {doing}: the queue is empty. Click 'Retrain and queue next "
                "batch' (or call campaign.query(n)) to queue more particles."
            )
            self._show_error(exc, doing)
            raise exc
        return self._current

    def _act(self, doing, action, message):
        try:
            result = action()
        except Exception as exc:
            self._show_error(exc, doing)
            raise
        self._clear_error()
        self.message.value = message if isinstance(message, str) else message(result)
        self.refresh()
        return result

    # -- actions --------------------------------------------------------------------------

    def click(self, class_name):
        """Label the shown particle as ``class_name`` (saved at once) and show the next.

        Parameters
        ----------
        class_name : str
            One of the campaign's classes.

        Returns
        -------
        particle_id : int
            The particle labeled.
        """
        pid = self._require_current("label")
        seconds = self._seconds(pid)
        self._act(
            f"label particle {pid} as {class_name!r}",
            lambda: self.campaign.label(
                [pid], [class_name], annotator=self.annotator, seconds=[seconds]
            ),
            f"Particle {pid}: <b>{html.escape(str(class_name))}</b>.",
        )
        return pid

    def skip(self):
        """Skip the shown particle (saved at once) and show the next.

        Returns
        -------
        particle_id : int
            The particle skipped.
        """
        pid = self._require_current("skip")
        seconds = self._seconds(pid)
        self._act(
            f"skip particle {pid}",
            lambda: self.campaign.skip([pid], annotator=self.annotator, seconds=[seconds]),
            f"Particle {pid}: skipped.",
        )
        return pid

    def undo(self):
        """Undo the last label or skip; the particle comes back to the queue.

        Returns
        -------
        record : dict or None
            What the campaign undid, None when there was nothing to undo.
        """
        return self._act(
            "undo",
            lambda: self.campaign.undo(annotator=self.annotator),
            lambda record: (
                "Nothing to undo."
                if record is None
                else f"Undid the {html.escape(_describe_undo(record))}."
            ),
        )

    def press(self, key):
        """Act as if ``key`` was typed in the key box.

        Parameters
        ----------
        key : str
            ``"1"``..``"9"`` or a letter for a class (see :attr:`shortcuts`), ``"s"`` to
            skip, ``"u"`` or ``"Backspace"`` to undo. Case is ignored.

        Returns
        -------
        result : int, dict or None
            What :meth:`click`, :meth:`skip` or :meth:`undo` returned; None for a key that
            does nothing (the widget then lists the keys).
        """
        key = _normalize_key(key)
        if key in _SKIP_KEYS:
            return self.skip()
        if key in _UNDO_KEYS:
            return self.undo()
        if key in self.shortcuts:
            return self.click(self.shortcuts[key])
        keys = ", ".join(f"{k} {name}" for k, name in self.shortcuts.items())
        self.message.value = (
            f"Key {html.escape(repr(key))} does nothing. Keys: {html.escape(keys)}; s skip; "
            "u or Backspace undo."
        )
        return None

    def _on_keys(self, change):
        value = change["new"]
        if value == KEY_SENTINEL:
            return  # our own reset
        typed = value.replace(KEY_SENTINEL, "")
        # Reset before acting: a key typed meanwhile then arrives as a fresh change. Only the
        # last character counts, so a change that still holds an earlier key is not replayed.
        self.keys.value = KEY_SENTINEL
        self._ui(self.press, typed[-1] if typed else "backspace")

    def retrain(self):
        """Fit the model on all labels, then queue the next batch.

        Trains with ``campaign.fit`` (the training bar follows the epochs), then queues
        ``batch_size_input.value`` particles with ``campaign.query`` (fewer when fewer are
        neither labeled, skipped nor queued). Training is left out
        when there is nothing to learn from (fewer than 2 labels: the campaign's query is
        then a random cold start) or when the latest model was fitted on exactly the
        current labels.

        Returns
        -------
        ids : ndarray of int
            The particles queued.
        """
        self._busy = True
        self._set_enabled()
        bar = self.train_progress
        try:
            status = self.campaign.status()
            # Particles neither labeled, skipped nor queued: the most a query can return.
            n = min(
                int(self.batch_size_input.value), int(status.n_unlabeled) - int(status.n_queued)
            )
            up_to_date = bool(getattr(status, "model_up_to_date", False))
            trained = int(status.n_labeled) >= 2 and not up_to_date
            why = (
                "Retrained and"
                if trained
                else "The model is up to date with the labels, so no retraining:"
                if up_to_date
                else "Fewer than 2 labels, so no training:"
            )
            if trained:
                bar.value, bar.max, bar.bar_style = 0, 1, ""
                bar.description = "Training"
                bar.layout.visibility = "visible"
                self.message.value = "Training..."
                self._act("retrain", lambda: self.campaign.fit(on_epoch=self._on_epoch), "")
                bar.value, bar.bar_style = bar.max, "success"
            self._particles = None  # the provenance table holds queue ranks and scores
            if n > 0:
                ids = self._act(
                    f"queue {n} particles",
                    lambda: np.asarray(self.campaign.query(n)),
                    lambda ids: f"{why} queued {len(ids)} particles.",
                )
            else:
                ids = np.empty(0, dtype=np.int64)
                self.message.value = (
                    f"{why} nothing queued: every particle is labeled, skipped or queued."
                )
                self.refresh()
        except Exception:
            if bar.layout.visibility == "visible":
                bar.bar_style = "danger"
            raise
        finally:
            self._busy = False
            self._set_enabled()
        return ids

    def _on_epoch(self, epoch, n_epochs):
        bar = self.train_progress
        bar.max = max(1, int(n_epochs))
        bar.value = min(int(epoch), bar.max)
        bar.description = f"Epoch {int(epoch)}/{int(n_epochs)}"
