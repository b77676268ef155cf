"""Progress bars and Ctrl-C handling around skorch's ``fit``."""

import contextlib
import signal
import threading

from skorch.callbacks import Callback


class EpochProgress(Callback):
    """A skorch callback showing a progress bar over the epochs of one ``fit``.

    Parameters
    ----------
    desc : str, default="epochs"
    position : int, default=1
        tqdm line (0 is the campaign's bar).
    """

    def __init__(self, desc="epochs", position=1):
        self.desc = desc
        self.position = position

    def initialize(self):
        self.bar_ = None
        return self

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(
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
