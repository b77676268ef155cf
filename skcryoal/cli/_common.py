"""Helpers shared by the subcommands: argument types and the CLI error."""

import argparse
import math


class CLIError(Exception):
    """A user-facing command-line error: printed on stderr, no traceback.

    Parameters
    ----------
    message : str
        The message, starting with the program name.
    status : int, default=2
        Exit status.
    """

    def __init__(self, message, status=2):
        super().__init__(message)
        self.status = status


def positive_int(text):
    """Argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def threads_value(text):
    """Argparse type: ``auto`` or a positive integer (torch threads)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer or 'auto', got {text!r}"
        ) from None


def positive_float(text):
    """Argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def snr_value(text):
    """Argparse type: a number > 0, ``inf`` allowed (noise-free)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive number or inf, got {text!r}"
        ) from None
    if math.isnan(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number or inf, got {text!r}")
    return value


def finite_float(text):
    """Argparse type: a finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value
