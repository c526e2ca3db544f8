#!/usr/bin/env python3
"""Renders a `myelin report` page in headless Chromium and checks that each named figure holds
drawn data, not just markup: the plot area of the figure (its axes' box; a heat map's cells) in
the screenshot must hold coloured pixels. The axes, grid and text are grey or black, the legend
lies outside the box; curves, bars, markers and heat-map cells are coloured.

  render_report.py REPORT.html SCREENSHOT.png FIGURE_ID...

Exit 0: every figure is drawn; 1: one is not (or the page is not self-contained); 77: Chromium
or Pillow is missing (the message names the Debian package)."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

WIDTH = 1280  # a laptop screen: the page lays its figures out in two columns
MIN_COLOURED = 300  # pixels of colour a figure's data draws at least (one curve: ~1000)


def chromium(*args):
    cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--force-device-scale-factor=1", "--no-first-run", "--disable-extensions",
           "--user-data-dir=" + tempfile.mkdtemp(prefix="myelin-chromium-"), *args]
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=120,
                          check=True, text=True).stdout


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    html, png, figures = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3:]
    missing = [p for p, ok in (("chromium", shutil.which("chromium")),) if not ok]
    try:
        from PIL import Image
    except ImportError:
        missing.append("python3-pil")
    if missing:
        print("skipped: rendering the report needs Debian's " + " and ".join(missing) +
              " (tools/test installs it when run as root: apt-get install " +
              " ".join(missing) + ")")
        sys.exit(77)

    page = open(html, encoding="utf-8").read()
    # Self-contained: nothing fetched at view time, no script.
    external = re.findall(r'(?:src|href)\s*=\s*"([^"#][^"]*)"', page)
    if external or "<script" in page or "<link" in page or "@import" in page:
        print("FAILED: the page fetches something or runs a script: %s" % external[:3])
        sys.exit(1)

    # Where each figure is laid out, at the screenshot's width: a copy of the page with a probe
    # script whose result --dump-dom prints.
    probe = html + ".probe.html"
    with open(probe, "w", encoding="utf-8") as f:
        f.write(page.replace("</body>", """<script>
const out = {height: document.documentElement.scrollHeight, figures: {}};
for (const f of document.querySelectorAll('figure')) {
  const r = (f.querySelector('.plot') || f).getBoundingClientRect();
  out.figures[f.id] = [r.left + scrollX, r.top + scrollY, r.width, r.height];
}
const pre = document.createElement('pre'); pre.id = 'probe';
pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
</script></body>"""))
    dom = chromium("--window-size=%d,900" % WIDTH, "--dump-dom", "file://" + probe)
    os.remove(probe)
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    if not found:
        print("FAILED: Chromium did not lay the page out")
        sys.exit(1)
    layout = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    height = int(layout["height"]) + 20

    chromium("--window-size=%d,%d" % (WIDTH, height), "--screenshot=" + os.path.abspath(png),
             "file://" + html)
    image = Image.open(png).convert("RGB")
    print("rendered %s: %dx%d pixels, %d figures laid out" %
          (os.path.basename(html), image.width, image.height, len(layout["figures"])))
    failures = 0
    for name in figures:
        box = layout["figures"].get("fig-" + name)
        if box is None:
            print("FAILED: figure %s is not on the page" % name)
            failures += 1
            continue
        x, y, w, h = (int(round(v)) for v in box)
        if w < 150 or h < 100 or y + h > image.height:
            print("FAILED: figure %s is laid out at %dx%d+%d+%d" % (name, w, h, x, y))
            failures += 1
            continue
        region = image.crop((x, y, x + w, y + h))
        coloured = sum(1 for r, g, b in region.getdata() if max(r, g, b) - min(r, g, b) > 60)
        ok = coloured >= MIN_COLOURED
        print("%s: figure %-14s %4dx%-4d at (%d, %d): %6d coloured pixels" %
              ("ok" if ok else "FAILED", name, w, h, x, y, coloured))
        failures += not ok
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
