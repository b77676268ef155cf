"""Progress bars and Ctrl-C handling around skorch's ``fit``."""

import contextlib
import os
import signal
import sys
import threading

from skorch.callbacks import Callback


class EpochProgress(Callback):
    """A skorch callback showing a progress bar over the epochs of one ``fit``.

    Parameters
    ----------
    desc : str, default="epochs"
    position : int, default=1
        tqdm line (0 is the campaign's bar).
    tqdm_class : type or None, default=None
        The bar's class, e.g. from :func:`progress_display`; None is
        ``tqdm.std.tqdm`` (text).
    """

    def __init__(self, desc="epochs", position=1, tqdm_class=None):
        self.desc = desc
        self.position = position
        self.tqdm_class = tqdm_class

    def initialize(self):
        self.bar_ = None
        return self

    def on_train_begin(self, net, **kwargs):
        tqdm_class = self.tqdm_class
        if tqdm_class is None:
            from tqdm.std import tqdm as tqdm_class

        self.bar_ = tqdm_class(
            total=net.max_epochs, desc=self.desc, position=self.position, leave=False, unit="ep"
        )

    def on_epoch_end(self, net, **kwargs):
        if self.bar_ is not None:
            loss = net.history[-1].get("train_loss")
            if loss is not None:
                self.bar_.set_postfix(loss=f"{loss:.3f}", refresh=False)
            self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        if self.bar_ is not None:
            self.bar_.close()
            self.bar_ = None


class ProgressDisplay:
    """How a campaign shows its progress; made by :func:`progress_display`.

    Parameters
    ----------
    tqdm_class : type or None, default=None
        The class of the bars; None shows nothing (and creates no bar).
    nested : bool, default=False
        Whether an epoch bar may show below the campaign's bar.
    """

    def __init__(self, tqdm_class=None, nested=False):
        self.tqdm_class = tqdm_class
        self.nested = nested

    def bar(self, **kwargs):
        """Return the campaign's bar, a context manager.

        Parameters
        ----------
        **kwargs : dict
            Passed to ``tqdm_class``.

        Returns
        -------
        bar : tqdm or object
            A bar, or a stand-in with the same ``update`` and
            ``set_postfix_str`` that shows nothing.
        """
        if self.tqdm_class is None:
            return _NoBar()
        if self.nested:
            kwargs.setdefault("position", 0)
        return self.tqdm_class(**kwargs)

    def epoch_callback(self, desc):
        """Return a callback showing the epochs of one ``fit``, or None.

        Parameters
        ----------
        desc : str
            The bar's description.

        Returns
        -------
        callback : EpochProgress or None
            None when progress is off or bars cannot nest here.
        """
        if self.tqdm_class is None or not self.nested:
            return None
        return EpochProgress(desc, tqdm_class=self.tqdm_class)


class _NoBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def update(self, n=1):
        pass

    def set_postfix_str(self, s="", refresh=True):
        pass


def progress_display(progress=True):
    """Return how progress can be shown in this process.

    - ``progress=False``: nothing, and no tqdm is created (not even a
      disabled one: ``tqdm.auto`` warns at import in a notebook without
      ipywidgets).
    - In a Jupyter kernel with ipywidgets: notebook widgets, an epoch bar
      under the campaign's bar.
    - In a Jupyter kernel without ipywidgets (or behind the Qt console or
      Spyder, which show no widgets), or with stderr redirected to a file:
      one line of text. Such outputs know the carriage return, not the
      cursor movements with which text bars nest, so there is no epoch bar.
    - In a terminal: text bars, an epoch bar under the campaign's bar.

    Parameters
    ----------
    progress : bool, default=True
        Whether to show progress at all.

    Returns
    -------
    display : ProgressDisplay
    """
    if not progress:
        return ProgressDisplay()
    if _in_jupyter_kernel():
        widgets = _notebook_tqdm() if _shows_widgets() else None
        if widgets is not None:
            return ProgressDisplay(widgets, nested=True)
        from tqdm.std import tqdm

        return ProgressDisplay(tqdm, nested=False)
    from tqdm.std import tqdm

    return ProgressDisplay(tqdm, nested=_stderr_is_terminal())


def _in_jupyter_kernel():
    if "ipykernel" not in sys.modules:
        return False  # never import IPython only to ask
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except Exception:  # an IPython too old or half installed: no kernel to talk to
        return False
    # subclasses too: Google Colab's shell derives from ZMQInteractiveShell
    return any(c.__name__ == "ZMQInteractiveShell" for c in type(shell).__mro__)


def _shows_widgets():
    # as tqdm.autonotebook: these front ends of a kernel are text consoles
    return not any(k == "QT_API" or k.startswith("SPYDER") for k in os.environ)


def _notebook_tqdm():
    try:
        import ipywidgets  # noqa: F401
        from tqdm import notebook
    except ImportError:
        return None
    # None with an ipywidgets too old for tqdm; its bars would raise
    return notebook.tqdm if notebook.IProgress is not None else None


def _stderr_is_terminal():
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # no stderr (pythonw), or a closed one
        return False


class InterruptGuard:
    """Record Ctrl-C while it is active, so that an interrupt swallowed by skorch is seen.

    skorch's ``fit`` catches ``KeyboardInterrupt`` and returns normally (it is
    also how its ``EarlyStopping`` stops), so a campaign cannot tell a Ctrl-C
    from a finished fit. While active, SIGINT sets ``interrupted`` and then
    raises ``KeyboardInterrupt`` as usual; the campaign checks the flag after
    each ``fit`` and stops before writing the cycle. Outside the main thread
    signals cannot be handled and the guard does nothing.
    """

    def __init__(self):
        self.interrupted = False

    def _handler(self, signum, frame):
        self.interrupted = True
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def active(self):
        """Install the SIGINT handler for the duration of the ``with`` block."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGINT, self._handler)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)

    def check(self):
        """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed."""
        if self.interrupted:
            raise KeyboardInterrupt("campaign interrupted during training (Ctrl-C)")
