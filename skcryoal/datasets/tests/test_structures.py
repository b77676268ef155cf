import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from skcryoal.datasets import (
    list_structures,
    load_template,
    make_subtomograms,
    make_template,
    simulate_from_templates,
)
from skcryoal.datasets._structures import structure_points

SMALL = dict(size=16, voxel_size=20.0)
STRUCTURES = Path(__file__).resolve().parents[1] / "structures"
BUILD_SCRIPT = Path(__file__).resolve().parents[3] / "tools" / "build_structures.py"
KEYS = list_structures().key.tolist()

# Two chains, a ligand and a water (dropped), hydrogens (dropped).
PDB = """\
HEADER    TEST                                    01-JAN-24   9ZZZ
TITLE     TINY TWO-CHAIN TEST COMPLEX
ATOM      1  N   ALA A   1      11.104   6.134  -6.504  1.00  0.00           N
ATOM      2  CA  ALA A   1      11.639   6.071  -5.147  1.00  0.00           C
ATOM      3  C   ALA A   1      13.149   5.835  -5.192  1.00  0.00           C
ATOM      4  O   ALA A   1      13.654   5.000  -5.961  1.00  0.00           O
ATOM      5  H   ALA A   1      10.500   6.000  -7.000  1.00  0.00           H
TER
ATOM      6  N   GLY B   1      40.000  10.000  10.000  1.00  0.00           N
ATOM      7  CA  GLY B   1      41.000  11.000  11.000  1.00  0.00           C
HETATM    8 ZN    ZN B 101     -20.000  -5.000   3.000  1.00  0.00          ZN
HETATM    9  O   HOH B 201       0.000   0.000   0.000  1.00  0.00           O
END
"""


def _rg(points, weights):
    center = np.average(points, axis=0, weights=weights)
    return np.sqrt(np.average(((points - center) ** 2).sum(axis=1), weights=weights))


def test_table_lists_every_shipped_file():
    table = list_structures()
    assert len(table) >= 8
    assert table.key.is_unique
    assert sorted(table.file) == sorted(p.name for p in STRUCTURES.glob("*.npz"))
    for column in ("pdb_id", "name", "mass_kda", "resolution", "citation", "source", "licence"):
        assert table[column].notna().all(), column
    assert set(table.licence) == {"CC0 1.0 (wwPDB data)"}


@pytest.mark.parametrize("key", KEYS)
def test_bundled_file_loads_and_matches_its_metadata(key):
    row = list_structures().set_index("key").loc[key]
    points, weights, cell = structure_points(key)
    assert points.shape == (row.n_pseudo_atoms, 3) and weights.shape == (row.n_pseudo_atoms,)
    assert cell == 5.0 and np.all(weights > 0) and np.all(np.isfinite(points))
    np.testing.assert_allclose(np.average(points, axis=0, weights=weights), 0, atol=1e-2)
    assert np.linalg.norm(points, axis=1).max() == pytest.approx(row.max_radius, abs=0.06)
    # Pseudo-atoms weigh their atoms' atomic numbers, about half the mass in Da.
    assert weights.sum() / (row.mass_kda * 1000) == pytest.approx(0.5, abs=0.01)
    # Merging atoms within 5 A cells keeps the radius of gyration.
    assert _rg(points, weights) == pytest.approx(row.rg_pseudo_atoms, abs=0.01)
    assert row.rg_pseudo_atoms == pytest.approx(row.rg_atoms, rel=0.01)
    assert row.box_size == np.ceil(2 * row.max_radius / 10)
    assert (STRUCTURES / row.file).stat().st_size < 400_000
    template = load_template(key.lower(), voxel_size=10.0)
    assert template.name.startswith(f"{key}: ") and template.sigma == 2.5
    np.testing.assert_array_equal(template.points, points)


def test_masses_are_in_table_order_and_spread():
    table = list_structures()
    assert table.mass_kda.is_monotonic_increasing
    totals = [structure_points(key)[1].sum() for key in table.key]
    assert np.all(np.diff(totals) > 0)
    assert table.mass_kda.min() < 150 and table.mass_kda.max() > 2000
    # No gap wider than a factor 2.5 between neighbours (the largest: 211 to 432 kDa).
    assert np.diff(np.log(table.mass_kda)).max() < np.log(2.5)


def test_coarser_voxels_merge_pseudo_atoms():
    fine = load_template("4V1W", voxel_size=10.0)
    coarse = load_template("4V1W", voxel_size=20.0)
    assert len(coarse.points) < len(fine.points) and coarse.sigma == 5.0
    assert coarse.weights.sum() == pytest.approx(fine.weights.sum())
    assert _rg(coarse.points, coarse.weights) == pytest.approx(
        _rg(fine.points, fine.weights), rel=0.01
    )


def test_voxels_finer_than_the_grid_warn():
    with pytest.warns(UserWarning, match="5 A grid.*voxel_size=4 A"):
        load_template("3KPR", voxel_size=4.0)


def test_structures_simulate_deterministically():
    kw = dict(templates=["3KPR", "4V1W", "6MSM"], snr=0.1, **SMALL)
    X1, y1 = make_subtomograms(6, random_state=0, **kw)
    X2, y2 = make_subtomograms(6, random_state=0, **kw)
    X3, _ = make_subtomograms(6, random_state=1, **kw)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    assert np.bincount(y1).tolist() == [2, 2, 2]
    X4, y4 = simulate_from_templates(["3KPR", "4V1W", "6MSM"], 6, snr=0.1, random_state=0, **SMALL)
    np.testing.assert_array_equal(X1, X4)
    np.testing.assert_array_equal(y1, y4)


def test_structures_mix_with_builtin_classes():
    X, y = make_subtomograms(4, templates=["4V1W", 3], snr=float("inf"), random_state=0, **SMALL)
    assert X.shape == (4, 1, 16, 16, 16) and sorted(set(y.tolist())) == [0, 1]
    ferritin = make_template("4V1W", **SMALL)
    assert ferritin.shape == (16, 16, 16) and ferritin.max() > 0


@pytest.mark.parametrize(
    "name, match",
    [
        ("4V5E", r"Unknown template '4V5E'.*Did you mean '4V5D'\?"),
        ("apoferitin", r"Did you mean '4V1W'\?"),
        ("ribosome", r"Did you mean '4V5D'\?"),
        ("4v5d_50s", r"Did you mean '4V5D-50S'\?"),
        ("xyzzy", r"neither a bundled structure nor an existing file\. Bundled structures: "),
    ],
)
def test_unknown_structure_suggests_a_close_name(name, match):
    with pytest.raises(ValueError, match=match):
        load_template(name)
    with pytest.raises(ValueError, match=match):
        make_subtomograms(2, templates=[name, "4V1W"], **SMALL)


def test_missing_file_with_suffix_is_still_file_not_found():
    with pytest.raises(FileNotFoundError, match="4V5D.cif"):
        load_template("4V5D.cif")


def test_structure_too_large_for_the_box_says_the_box_needed():
    with pytest.raises(
        ValueError,
        match=r"Structure 4V5D \(70S ribosome.*2094 kDa\).*needs a box of at least "
        r"size=31 voxels, got size=16.*voxel_size to 19.1 A",
    ):
        make_subtomograms(2, templates=["4V5D", "4V1W"], size=16, voxel_size=10.0)


def test_templates_argument_is_checked():
    with pytest.raises(TypeError, match="one entry per class"):
        make_subtomograms(2, templates="4V5D", **SMALL)
    with pytest.raises(ValueError, match="n_classes=3 contradicts templates"):
        make_subtomograms(2, 3, templates=["4V5D", "4V1W"], **SMALL)
    with pytest.raises(ValueError, match="at least 2 classes"):
        make_subtomograms(2, templates=["4V5D"], **SMALL)


def _build_module():
    spec = importlib.util.spec_from_file_location("build_structures", BUILD_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not BUILD_SCRIPT.is_file(), reason="tools/ is not in this checkout")
def test_build_script_writes_the_shipped_format(tmp_path):
    pytest.importorskip("gemmi")
    model = tmp_path / "9zzz.pdb"
    model.write_text(PDB)
    out = tmp_path / "out"
    _build_module().main([str(model), "--out", str(out)])

    row = json.loads((out / "structures.json").read_text())["structures"][0]
    shipped = json.loads((STRUCTURES / "structures.json").read_text())["structures"][0]
    assert set(row) == set(shipped)
    assert row["key"] == row["pdb_id"] == "9ZZZ" and row["chains"] == "A B"
    assert row["n_atoms"] == 7  # no hydrogen, no water
    assert row["mass_kda"] == pytest.approx(
        (3 * 12.011 + 2 * 14.007 + 15.999 + 65.38) / 1000, abs=0.006
    )
    with np.load(out / "9ZZZ.npz") as data, np.load(STRUCTURES / shipped["file"]) as ref:
        assert set(data.files) == set(ref.files)
        assert data["points"].dtype == ref["points"].dtype == np.float32
        assert data["weights"].dtype == ref["weights"].dtype == np.float32
        points, weights = data["points"], data["weights"]
    # The same pseudo-atoms as load_template makes from the file at 10 A per voxel.
    template = load_template(model, voxel_size=10.0)
    order = np.lexsort(points.T)
    expected = np.lexsort(template.points.T)
    np.testing.assert_allclose(points[order], template.points[expected], atol=1e-4)
    np.testing.assert_allclose(weights[order], template.weights[expected])
    assert weights.sum() == 7 + 6 + 6 + 8 + 7 + 6 + 30
