"""Helpers shared by the campaign tests."""

import sqlite3


def tiny_clf(**kwargs):
    """A CryoNetClassifier small enough to fit in well under a second on one thread."""
    from skcryoal import CryoNetClassifier

    params = dict(module__width=4, max_epochs=2, batch_size=8, random_state=0)
    params.update(kwargs)
    return CryoNetClassifier(**params)


def labels_of(campaign):
    """``{particle_id: label}`` of the current labels."""
    df = campaign.labels()
    return dict(zip(df["particle_id"].tolist(), df["label"].tolist()))


def sql(campaign_path, statement, params=()):
    """Run one statement on a campaign's database with a separate connection."""
    conn = sqlite3.connect(str(campaign_path / "campaign.sqlite"), isolation_level=None)
    try:
        return conn.execute(statement, params).fetchall()
    finally:
        conn.close()


def spawn(folder, name, source, *args):
    """Start ``source`` as a script in a new Python process (the package's own interpreter)."""
    import os
    import subprocess
    import sys
    import textwrap

    script = folder / f"{name}.py"
    script.write_text(textwrap.dedent(source))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    return subprocess.Popen(
        [sys.executable, str(script), *map(str, args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_for_line(path, word, process, timeout=120.0):
    """Wait until the log ``path`` has a line starting with ``word``; fail if the process died."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and any(line.startswith(word) for line in path.read_text().splitlines()):
            return
        if process.poll() is not None:
            raise AssertionError(f"the worker exited early:\n{process.stdout.read().decode()}")
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"no {word!r} line in {path} after {timeout} s")
