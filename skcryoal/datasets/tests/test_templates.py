import sys

import mrcfile
import numpy as np
import pytest

from skcryoal.datasets import load_template, make_template, simulate_from_templates

SMALL = dict(size=16, voxel_size=20.0)

PDB = """\
ATOM      1  N   ALA A   1      11.104   6.134  -6.504  1.00  0.00           N
ATOM      2  CA  ALA A   1      11.639   6.071  -5.147  1.00  0.00           C
ATOM      3  C   ALA A   1      13.149   5.835  -5.192  1.00  0.00           C
ATOM      4  O   ALA A   1      13.654   5.000  -5.961  1.00  0.00           O
ATOM      5  CB  ALA A   1      11.304   7.349  -4.390  1.00  0.00           C
ATOM      6  N   GLY A   2      40.000  10.000  10.000  1.00  0.00           N
ATOM      7  CA  GLY A   2      41.000  11.000  11.000  1.00  0.00           C
ATOM      8  S   MET A   3     -20.000  -5.000   3.000  1.00  0.00           S
END
"""


@pytest.fixture
def mrc_path(tmp_path):
    path = tmp_path / "ring.mrc"
    density = make_template(1, size=32, voxel_size=10.0)
    with mrcfile.new(path) as mrc:
        mrc.set_data(density)
        mrc.voxel_size = 10.0
    return path


def test_array_and_builtin_templates_mix():
    ring = make_template(1, **SMALL)
    X, y = simulate_from_templates([ring, 3], n_samples=6, snr=0.05, random_state=0, **SMALL)
    assert X.shape == (6, 1, 16, 16, 16)
    assert np.bincount(y).tolist() == [3, 3]


def test_builtin_template_equals_make_subtomograms():
    from skcryoal.datasets import make_subtomograms

    X1, y1 = simulate_from_templates([0, 1, 2], n_samples=5, snr=0.1, random_state=0, **SMALL)
    X2, y2 = make_subtomograms(5, 3, snr=0.1, random_state=0, **SMALL)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)


def test_mrc_template_is_resampled_to_the_voxel_size(mrc_path):
    template = load_template(mrc_path, voxel_size=20.0)
    assert template.name == "ring.mrc"
    rendered = make_template(mrc_path, **SMALL)
    reference = make_template(1, **SMALL)
    corr = np.corrcoef(rendered.ravel(), reference.ravel())[0, 1]
    assert corr > 0.9
    X, y = simulate_from_templates([mrc_path, 0], n_samples=4, random_state=0, **SMALL)
    assert X.shape == (4, 1, 16, 16, 16)


def test_pdb_template(tmp_path):
    pytest.importorskip("gemmi")
    path = tmp_path / "tiny.pdb"
    path.write_text(PDB)
    template = load_template(path, voxel_size=10.0)
    np.testing.assert_allclose(
        np.average(template.points, axis=0, weights=template.weights), 0, atol=1e-6
    )
    # Atoms weigh their atomic number: 5 + 2 + 1 atoms of residues ALA, GLY, MET.
    assert template.weights.sum() == pytest.approx((7 + 6 + 6 + 8 + 6) + (7 + 6) + 16)
    X, _ = simulate_from_templates([path, 0], n_samples=2, random_state=0, **SMALL)
    assert np.all(np.isfinite(X))


def test_pdb_without_gemmi_says_how_to_install(tmp_path, monkeypatch):
    path = tmp_path / "tiny.pdb"
    path.write_text(PDB)
    monkeypatch.setitem(sys.modules, "gemmi", None)
    with pytest.raises(ImportError, match=r"tiny\.pdb.*pip install skcryoal\[structures\]"):
        load_template(path)


def test_bad_pdb_names_the_file(tmp_path):
    pytest.importorskip("gemmi")
    path = tmp_path / "broken.cif"
    path.write_text("this is not mmcif\n")
    with pytest.raises(ValueError, match="broken.cif"):
        load_template(path)


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.mrc"):
        load_template(tmp_path / "nothere.mrc")


def test_unknown_suffix_names_the_file(tmp_path):
    path = tmp_path / "model.xyz"
    path.write_text("1 2 3")
    with pytest.raises(ValueError, match="model.xyz.*suffix"):
        load_template(path)


def test_corrupt_mrc_names_the_file(tmp_path):
    path = tmp_path / "corrupt.mrc"
    path.write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="corrupt.mrc"):
        load_template(path)


def test_empty_map_is_rejected(tmp_path):
    path = tmp_path / "flat.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(np.zeros((8, 8, 8), dtype=np.float32))
        mrc.voxel_size = 10.0
    with pytest.raises(ValueError, match="flat.mrc.*no density"):
        load_template(path)


def test_stack_map_is_rejected(tmp_path):
    path = tmp_path / "stack.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(np.ones((8, 8), dtype=np.float32))
    with pytest.raises(ValueError, match="stack.mrc.*3D"):
        load_template(path)


def test_bad_template_types():
    with pytest.raises(TypeError, match="class index"):
        load_template(1.5)
    with pytest.raises(ValueError, match="3D density"):
        load_template(np.ones((4, 4)))
    with pytest.raises(TypeError, match="one entry per class"):
        simulate_from_templates("ring.mrc", **SMALL)
    with pytest.raises(ValueError, match="at least 2 classes"):
        simulate_from_templates([0], **SMALL)
    with pytest.raises(ValueError, match="class index must be"):
        load_template(-1)


def test_too_large_template_warns():
    with pytest.warns(UserWarning, match="cut at the box edge"):
        simulate_from_templates([9, 0], n_samples=2, size=8, voxel_size=10.0, random_state=0)
