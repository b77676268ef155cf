"""Reading what a spec names: a particle set and its labels, or the picks of a copick project."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: label columns of a particle table, in the order they are looked for (as
#: read_subtomograms and campaigns do: RELION's rlnClassNumber only when named)
LABEL_COLUMNS = ("skcryoalLabelText", "skcryoalLabel")
#: the column in which read_copick puts the object name of truth picks
COPICK_LABEL = "label"


@dataclass
class Source:
    """The particles to cut, with their labels."""

    particles: pd.DataFrame  # from read_particle_set or read_copick
    labels: np.ndarray | None  # object, one per row, None where unlabeled; None: no labels
    label_column: str | None = None  # the particle table's column they came from
    rows: np.ndarray | None = None  # of a subset: each particle's row in the input

    @property
    def n_labeled(self):
        return 0 if self.labels is None else sum(v is not None for v in self.labels)

    def subset(self, keep):
        """The rows where ``keep`` is True, remembering their row numbers in the input."""
        keep = np.asarray(keep, dtype=bool)
        rows = np.arange(len(keep)) if self.rows is None else self.rows
        return Source(
            self.particles.reset_index(drop=True)[keep].reset_index(drop=True),
            None if self.labels is None else self.labels[keep],
            self.label_column,
            rows[keep],
        )


def read_source(spec):
    """Read the particles (and labels) that ``spec`` names.

    Parameters
    ----------
    spec : dict
        From :func:`~skcryoal.cli._pools.spec_from_args`.

    Returns
    -------
    source : Source
    """
    if spec["kind"] == "copick":
        from ...io import read_copick

        table = read_copick(
            spec["copick"],
            objects=spec["objects"],
            users=spec["users"],
            sessions=spec["sessions"],
            runs=spec["runs"],
            tomo_type=spec["tomo_type"],
            voxel_spacing=spec["voxel_spacing"],
            truth_user=spec["truth_user"],
            truth_session=spec["truth_session"],
        )
        labels = None
        if spec["truth_user"] is not None or spec["truth_session"] is not None:
            labels = table[COPICK_LABEL].to_numpy(dtype=object)
        # the labels are written as the output's label column, not twice
        return Source(table.drop(columns=[COPICK_LABEL]), labels)

    from ...io import read_particle_set

    particles = read_particle_set(
        spec["particles"],
        tomograms=spec["tomograms"],
        tomogram_dir=spec["tomogram_dir"],
        convention=spec["convention"],
        tomogram_column=spec["tomogram_column"],
    )
    labels, column = table_labels(spec["particles"], spec["label_column"])
    return Source(particles, labels, column)


def table_labels(path, label_column=None):
    """The labels of a particle table, decoded as :func:`read_subtomograms` decodes them.

    Returns
    -------
    labels : ndarray of object or None
        One per row: int or str, None where the row has none; None when the table
        has no label column or no label in it.
    column : str or None
        The label column.
    """
    from ...io._tables import decode_labels, particle_block, read_blocks

    text = [label_column] if label_column else list(LABEL_COLUMNS)
    particles = particle_block(path, read_blocks(path, text))
    column = label_column or next((c for c in LABEL_COLUMNS if c in particles.columns), None)
    if column is None:
        return None, None
    if column not in particles.columns:
        raise ValueError(
            f"{path}: --label-column {column!r} is not a column; columns found: "
            f"{', '.join(map(str, particles.columns))}."
        )
    labels = decode_labels(particles, column, path, partial=True)
    if all(v is None for v in labels):
        return None, column
    return labels, column
