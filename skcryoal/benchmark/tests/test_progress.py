"""Progress bars: silent when off, clean in a terminal, a log file and Jupyter."""

import os
import sys
import types
import warnings

import pytest

from skcryoal.benchmark import ClassifierFactory, _progress, run_campaign

CURSOR = "\x1b["  # ANSI control sequences: what nested text bars move the cursor with


class ZMQInteractiveShell:
    """Stands for IPython's shell in a Jupyter kernel (recognized by its class name)."""

    config = {"IPKernelApp": {}}


@pytest.fixture
def jupyter(monkeypatch):
    """Make this process look like a Jupyter kernel, to skcryoal and to ``tqdm.auto``."""
    import IPython
    import tqdm

    try:  # before the fake kernel module, which ipywidgets would inspect
        import ipywidgets  # noqa: F401
    except ImportError:
        pass
    for name in ("ipykernel", "ipykernel.zmqshell"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setattr(IPython, "get_ipython", ZMQInteractiveShell)
    for key in [k for k in os.environ if k == "QT_API" or k.startswith("SPYDER")]:
        monkeypatch.delenv(key)
    for name in ("auto", "autonotebook", "notebook"):  # imported anew in the "kernel"
        monkeypatch.delitem(sys.modules, f"tqdm.{name}", raising=False)
        monkeypatch.delattr(tqdm, name, raising=False)


@pytest.fixture
def no_ipywidgets(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # `import ipywidgets` fails


@pytest.fixture
def data(easy_data):
    X, y = easy_data(n_samples=24, n_classes=2, size=16)
    return X[:16], y[:16], X[16:], y[16:]


def run(data, progress):
    return run_campaign(
        *data,
        strategies=["random"],
        classifier_factory=ClassifierFactory(width=4, max_epochs=2, batch_size=16),
        initial=8,
        step=4,
        final=12,
        progress=progress,
    )


@pytest.mark.usefixtures("jupyter", "no_ipywidgets")
def test_no_progress_is_silent_even_in_jupyter_without_ipywidgets(data, capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(data, progress=False)
    assert [str(w.message) for w in caught] == []
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("where", ["jupyter-without-ipywidgets", "log-file"])
def test_progress_is_one_plain_line_where_the_cursor_cannot_move(
    data, capsys, request, monkeypatch, where
):
    if where == "jupyter-without-ipywidgets":
        request.getfixturevalue("jupyter")
        request.getfixturevalue("no_ipywidgets")
    else:  # output redirected to a file: no terminal
        monkeypatch.setattr(_progress, "_stderr_is_terminal", lambda: False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(data, progress=True)
    assert [str(w.message) for w in caught] == []  # no "IProgress not found"
    out, err = capsys.readouterr()
    assert "cycles" in err and "2/2" in err
    assert CURSOR not in err + out
    assert "random n=8" not in err  # no epoch bar: it would need a second line


def test_terminal_shows_an_epoch_bar_below_the_campaign_bar(data, capsys, monkeypatch):
    monkeypatch.setattr(_progress, "_stderr_is_terminal", lambda: True)
    run(data, progress=True)
    err = capsys.readouterr().err
    assert "cycles" in err and "2/2" in err
    assert "random n=8" in err and "random n=12" in err  # the epoch bars
    assert CURSOR in err  # the epoch bar is drawn on the line below


@pytest.mark.usefixtures("jupyter")
def test_jupyter_with_ipywidgets_uses_notebook_widgets():
    pytest.importorskip("ipywidgets")
    from tqdm.notebook import tqdm as notebook_tqdm

    display = _progress.progress_display(True)
    assert display.tqdm_class is notebook_tqdm and display.nested


def test_off_creates_no_bar():
    display = _progress.progress_display(False)
    assert display.tqdm_class is None and display.epoch_callback("fit") is None
    with display.bar(total=3, desc="cycles") as bar:
        bar.update(1)
        bar.set_postfix_str("ema")


def test_jupyter_kernel_detection(monkeypatch, request):
    assert not _progress._in_jupyter_kernel()  # pytest: no kernel
    request.getfixturevalue("jupyter")
    assert _progress._in_jupyter_kernel()

    class TerminalInteractiveShell:
        pass

    import IPython

    monkeypatch.setattr(IPython, "get_ipython", TerminalInteractiveShell)
    assert not _progress._in_jupyter_kernel()
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)  # IPython imported, no shell
    assert not _progress._in_jupyter_kernel()


@pytest.mark.usefixtures("jupyter")
def test_qt_console_gets_plain_text(monkeypatch):
    # a kernel behind a text console (Qt console, Spyder) cannot show widgets
    pytest.importorskip("ipywidgets")
    from tqdm.std import tqdm as std_tqdm

    monkeypatch.setenv("QT_API", "pyqt5")
    display = _progress.progress_display(True)
    assert display.tqdm_class is std_tqdm and not display.nested
