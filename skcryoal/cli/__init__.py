"""Command-line interface: ``skcryoal <command> [options]``.

Each subcommand lives in its own private module that defines ``NAME``,
``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``; adding a command
means adding a module and one entry to ``_COMMANDS``.
"""

import argparse
import importlib
import sys

from .._version import __version__
from ..utils._threads import set_num_threads
from ._common import CLIError, threads_value

__all__ = ["main"]

# Modules implementing the subcommands, in the order shown by --help.
_COMMANDS = ("._simulate", "._demo", "._extract", "._benchmark", "._campaign")


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        # argparse's output (usage + message on stderr, status 2), raised instead
        # of exiting so that main() returns the status.
        self.print_usage(sys.stderr)
        raise CLIError(f"{self.prog}: error: {message}")


def _add_threads(parser, default):
    parser.add_argument(
        "--threads",
        type=threads_value,
        default=default,
        metavar="N",
        help="CPU threads for torch (default: auto = the CPUs this process may use, from "
        "its affinity and cgroup quota, capped by OMP_NUM_THREADS). On a shared node or "
        "beside other jobs, fewer threads than cores is much faster.",
    )
    # Nested sub-commands (skcryoal campaign fit ...) accept it too; SUPPRESS keeps
    # their default from overriding a --threads given before the sub-command name.
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for leaf in action.choices.values():
                _add_threads(leaf, argparse.SUPPRESS)


def _build_parser():
    parser = _ArgumentParser(
        prog="skcryoal",
        description="Deep active learning for cryo-ET subtomogram classification.",
    )
    parser.add_argument("--version", action="version", version=f"skcryoal {__version__}")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_ArgumentParser
    )
    commands.required = True
    for module_name in _COMMANDS:
        module = importlib.import_module(module_name, __name__)
        sub = commands.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        _add_threads(sub, "auto")
        sub.set_defaults(run_command=module.run, command_prog=sub.prog)
    return parser


def main(argv=None) -> int:
    """Run the ``skcryoal`` command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    status : int
        0 on success; 2 for bad arguments or inputs (invalid values, existing
        or missing files), with the message on stderr and no traceback; 1 for
        other I/O failures.

    Examples
    --------
    >>> from skcryoal.cli import main
    >>> main(["--version"])  # doctest: +ELLIPSIS
    skcryoal ...
    0
    """
    parser = _build_parser()
    prog = parser.prog
    try:
        args = parser.parse_args(argv)
        prog = args.command_prog
        set_num_threads(args.threads)
        return int(args.run_command(args) or 0)
    except SystemExit as exc:  # --help and --version exit through argparse
        return exc.code if isinstance(exc.code, int) else 0
    except CLIError as exc:
        print(exc, file=sys.stderr)
        return exc.status
    except (ValueError, FileExistsError, FileNotFoundError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
