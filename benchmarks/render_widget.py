"""Render the campaign labeling widget in a real browser (headless Chromium) and check it.

Usage::

    python benchmarks/render_widget.py [--out benchmarks/results/widget_render.png]
                                       [--js-dir DIR] [--workdir DIR]

What it does:

1. writes a notebook that builds a small simulated campaign (24 particles of 32^3, three
   classes), queues a batch, labels two particles and displays ``CampaignWidget``;
2. executes it with nbclient, storing the widget state in the notebook;
3. exports it to HTML with nbconvert, pointing the widget manager
   (``@jupyter-widgets/html-manager``) and require.js at local copies instead of CDNs (no
   network is needed in the browser); the copies are fetched once with ``npm pack`` into
   ``--js-dir`` (default ``~/.cache/skcryoal/widget-js``) unless already there;
4. runs headless Chromium twice on the page: ``--dump-dom`` (the rendered buttons, and the
   positions of the orthoslice images, written by a small probe script added to the page)
   and ``--screenshot``;
5. checks that the widget manager rendered the class, skip, undo and retrain buttons and the
   three orthoslice images, and that each image region of the screenshot is non-uniform.

Needs chromium (Debian: ``apt-get install chromium``), nbformat, nbclient, nbconvert and
ipykernel in this Python, and npm once (or a ``--js-dir`` holding ``embed-amd.js`` and
``require.js``). Exit status: 0 rendered and checked, 1 a check failed, 2 a tool is missing.
"""

import argparse
import html
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HTML_MANAGER = "@jupyter-widgets/html-manager@1"  # widget protocol 2 = ipywidgets 8
REQUIREJS = "requirejs@2"
DEFAULT_JS_DIR = Path.home() / ".cache" / "skcryoal" / "widget-js"
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "widget_render.png"
WINDOW = (1100, 800)
CLASSES = ("ribosome", "proteasome", "membrane")

SETUP = """\
import numpy as np
from skcryoal import CryoNetClassifier
from skcryoal.campaign import Campaign
from skcryoal.datasets import make_subtomograms

X, y = make_subtomograms(24, 3, size=32, snr=0.5, random_state=0)
classes = {classes!r}
campaign = Campaign.create(
    {folder!r}, X, list(classes),
    estimator=CryoNetClassifier(module__width=4, max_epochs=2, batch_size=8, random_state=0),
    random_state=0, annotator="ada",
)
campaign.query(8)  # a cold start: no model yet
"""

SHOW = """\
from skcryoal.campaign import CampaignWidget

w = CampaignWidget(campaign, slab=3, batch_size=8)
for _ in range(5):  # label five with their true class (keys 1..3), then retrain
    w.press(str(y[w.current] + 1))
w.retrain()
w"""

# Added to the page: once the widget manager has drawn the orthoslices, write where they
# are and which buttons exist into the DOM, for --dump-dom to report.
PROBE = """
<script>
(function probe() {
  var imgs = document.querySelectorAll("img.widget-image");
  var ready = imgs.length >= 3 && Array.prototype.every.call(imgs, function (i) {
    return i.complete && i.naturalWidth > 0;
  });
  if (!ready) { setTimeout(probe, 100); return; }
  var rects = Array.prototype.map.call(imgs, function (i) {
    var r = i.getBoundingClientRect();
    return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height];
  });
  var buttons = Array.prototype.map.call(
    document.querySelectorAll("button.widget-button"),
    function (b) { return b.textContent.trim(); });
  var out = document.createElement("pre");
  out.id = "render-probe";
  out.style.display = "none";
  out.textContent = JSON.stringify({images: rects, buttons: buttons});
  document.body.appendChild(out);
})();
</script>
"""


def find_chromium():
    """Path of a Chromium or Chrome executable, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def missing_requirements(js_dir=DEFAULT_JS_DIR):
    """What is missing to run the check (an empty list when everything is there)."""
    missing = []
    if find_chromium() is None:
        missing.append("chromium (Debian: apt-get install chromium)")
    for module in ("nbformat", "nbclient", "nbconvert", "ipykernel", "ipywidgets"):
        if importlib.util.find_spec(module) is None:
            missing.append(f"{module} (pip install {module})")
    try:
        from skcryoal.campaign import CampaignWidget  # noqa: F401
    except ImportError as exc:
        missing.append(f"CampaignWidget in skcryoal.campaign ({exc})")
    if not _js_ready(Path(js_dir)) and shutil.which("npm") is None:
        missing.append(f"npm, to fetch {HTML_MANAGER} and {REQUIREJS} into {js_dir}")
    return missing


def _js_paths(js_dir):
    return js_dir / "html-manager" / "dist" / "embed-amd.js", js_dir / "requirejs" / "require.js"


def _js_ready(js_dir):
    return all(path.is_file() for path in _js_paths(js_dir))


def ensure_js(js_dir):
    """Local copies of the widget manager and require.js, fetched with ``npm pack`` once."""
    js_dir = Path(js_dir)
    if not _js_ready(js_dir):
        js_dir.mkdir(parents=True, exist_ok=True)
        for spec, target in ((HTML_MANAGER, "html-manager"), (REQUIREJS, "requirejs")):
            result = subprocess.run(
                ["npm", "pack", spec, "--pack-destination", str(js_dir), "--json"],
                capture_output=True,
                text=True,
                timeout=300,
            )
            if result.returncode != 0:
                raise RuntimeError(f"npm pack {spec} failed:\n{result.stderr[-2000:]}")
            tarball = js_dir / json.loads(result.stdout)[0]["filename"]
            with tarfile.open(tarball) as archive:
                for member in archive.getmembers():
                    # package/dist/... -> target/dist/...; source maps are not needed
                    if member.isfile() and not member.name.endswith(".map"):
                        member.name = target + member.name[len("package") :]
                        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4
                            archive.extract(member, js_dir, filter="data")
                        else:
                            archive.extract(member, js_dir)
            tarball.unlink()
    return _js_paths(js_dir)


def build_html(workdir, js_dir):
    """Execute the notebook, export it to HTML loading the widget manager from ``js_dir``."""
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    embed, require = ensure_js(js_dir)
    nb = nbformat.v4.new_notebook()
    setup = SETUP.format(folder=str(workdir / "campaign"), classes=CLASSES)
    nb.cells = [
        nbformat.v4.new_code_cell(setup, metadata={"tags": ["setup"]}),
        nbformat.v4.new_code_cell(SHOW),
    ]
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # the kernel inherits it
    start = time.perf_counter()
    NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(workdir)}},
    ).execute()
    print(f"notebook executed in {time.perf_counter() - start:.1f} s")
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    if errors:
        raise RuntimeError("the notebook failed:\n" + "\n".join(errors[0]["traceback"]))
    nbformat.write(nb, workdir / "widget.ipynb")

    exporter = HTMLExporter(
        template_name="lab",
        widget_renderer_url=embed.as_uri(),
        require_js_url=require.as_uri(),
        mathjax_url="",
    )
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags={"setup"}, enabled=True), enabled=True
    )
    body, _ = exporter.from_notebook_node(nb)
    body = body.replace('<script src=""></script>', "")  # the MathJax CDN tag, emptied
    body = body.replace("</body>", PROBE + "</body>")
    page = workdir / "widget.html"
    page.write_text(body, encoding="utf-8")
    return page


def _chromium(page, *args):
    command = [
        find_chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--virtual-time-budget=30000",
        *args,
        page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def check_page(page, out):
    """Screenshot the page into ``out`` and check what rendered; return a list of failures."""
    import matplotlib.image

    dom = _chromium(page, "--dump-dom").stdout
    start = dom.find('<pre id="render-probe"')
    if start < 0:
        return ["the widget manager did not draw the orthoslices (no probe in the DOM)"]
    text = dom[dom.index(">", start) + 1 : dom.index("</pre>", start)]
    probe = json.loads(html.unescape(text))
    failures = []
    wanted = [*CLASSES, "Skip", "Undo", "Retrain and queue next batch"]
    for label in wanted:
        if not any(label in b for b in probe["buttons"]):
            failures.append(f"no rendered button {label!r} (buttons: {probe['buttons']})")

    out.parent.mkdir(parents=True, exist_ok=True)
    result = _chromium(page, f"--screenshot={out}")
    if not out.is_file():
        return failures + [f"chromium wrote no screenshot: {result.stderr[-1000:]}"]
    shot = matplotlib.image.imread(out)[..., :3]
    grey = shot.mean(axis=2)
    inked = float((grey < 0.9).mean())
    print(f"screenshot {out}: {shot.shape[1]}x{shot.shape[0]} px, {inked:.1%} non-white")
    if inked < 0.02:
        failures.append(f"the screenshot is nearly blank ({inked:.1%} non-white pixels)")
    for view, (left, top, width, height) in zip(("XY", "XZ", "YZ"), probe["images"]):
        region = grey[int(top) : int(top + height), int(left) : int(left + width)]
        spread = float(region.std()) if region.size else 0.0
        print(
            f"  {view} panel at ({left:.0f}, {top:.0f}) {width:.0f}x{height:.0f} px, "
            f"grey-level std {spread:.3f}"
        )
        if region.size == 0 or spread < 0.05:
            failures.append(f"the {view} panel is missing or uniform (std {spread:.3f})")
    return failures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="screenshot (PNG)")
    parser.add_argument(
        "--js-dir",
        type=Path,
        default=DEFAULT_JS_DIR,
        help="local copies of the widget manager and require.js",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="keep the campaign, notebook and HTML here (default: temporary)",
    )
    args = parser.parse_args(argv)

    missing = missing_requirements(args.js_dir)
    if missing:
        print("cannot run the render check; missing: " + "; ".join(missing), file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        page = build_html(workdir.resolve(), args.js_dir)
        failures = check_page(page, args.out.resolve())
    for failure in failures:
        print("FAILED:", failure, file=sys.stderr)
    if not failures:
        print("the widget rendered: buttons and three non-uniform orthoslice panels")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
