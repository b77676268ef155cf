"""The campaign widget rendered by a real browser: benchmarks/render_widget.py as a test.

Skipped where headless Chromium, nbclient/nbconvert/ipykernel or the widget manager's
JavaScript (fetched once with npm) are not available.
"""

import pytest


@pytest.fixture(scope="module")
def render_widget(benchmark_script):
    module = benchmark_script("render_widget")
    missing = module.missing_requirements()
    if missing:
        pytest.skip("render check needs: " + "; ".join(missing))
    try:
        module.ensure_js(module.DEFAULT_JS_DIR)
    except Exception as exc:  # no npm registry reachable: nothing to render with
        pytest.skip(f"could not fetch the widget manager's JavaScript: {exc}")
    return module


@pytest.mark.slow
def test_widget_renders_in_chromium(render_widget, tmp_path):
    out = tmp_path / "widget.png"
    status = render_widget.main(["--out", str(out), "--workdir", str(tmp_path / "work")])
    assert status == 0, "the widget did not render; see the captured output"
    assert out.stat().st_size > 10_000
