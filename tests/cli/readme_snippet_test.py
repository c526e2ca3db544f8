#!/usr/bin/env python3
"""The README's snippet that reads a myelin checkpoint with numpy and json, run as written.

  readme_snippet_test.py MYELIN_BINARY WORK_DIR

It trains a small run of the default model, runs the snippet on it (its run path replaced), and
checks what it read: an eval-mode forward pass in numpy over those tensors and normalisation
gives the logits `myelin predict` writes. The snippet's PyTorch part is checked by
bench/pytorch/readme_snippet.py, where PyTorch is installed.
"""
import gzip
import os
import re
import shutil
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def snippet(name):
    """The code block after the README's `<!-- snippet: NAME ... -->` marker."""
    text = open(os.path.join(ROOT, "README.md")).read()
    match = re.search(r"<!-- snippet: " + name + r"\b[^\n]*-->\n```python\n(.*?)```", text, re.S)
    if not match:
        sys.exit(f"FAILED: the README has no snippet '{name}'")
    return match.group(1)


def with_run(code, run):
    replaced, count = re.subn(r'^run = ".*"$', f"run = {run!r}", code, flags=re.M)
    if count != 1:
        sys.exit("FAILED: the snippet sets no run path to replace")
    return replaced


def main():
    myelin, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chdir(work)
    subprocess.run([myelin, "train", "--out", "run", "--limit", "3000", "--dev-size", "500",
                    "--epochs", "1"], check=True, stdout=subprocess.DEVNULL)
    images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
    subprocess.run([myelin, "predict", "run", "--input", images, "--out", "logits.npy",
                    "--output", "logits"], check=True, stdout=subprocess.DEVNULL)
    scope = {}
    exec(with_run(snippet("read"), "run"), scope)
    tensors, mean, std = scope["tensors"], scope["mean"], scope["std"]
    failures = 0

    def check(what, ok):
        nonlocal failures
        print(("ok: " if ok else "FAILED: ") + what)
        failures += 0 if ok else 1

    check("every state_dict entry read", len(tensors) == 16 and tensors["8.weight"].shape == (10, 256))
    check("num_batches_tracked is int64", tensors["1.num_batches_tracked"].dtype == np.int64)
    check("normalisation of 784 features", mean.shape == (784,) and (std > 0).all())
    with gzip.open(images) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:2000]
    h = (x.astype(np.float64) - mean) / std
    for linear, norm in ((0, 1), (4, 5)):
        h = h @ tensors[f"{linear}.weight"].T.astype(np.float64) + tensors[f"{linear}.bias"]
        t = {k: tensors[f"{norm}.{k}"].astype(np.float64)
             for k in ("weight", "bias", "running_mean", "running_var")}
        h = (h - t["running_mean"]) / np.sqrt(t["running_var"] + 1e-5) * t["weight"] + t["bias"]
        h = np.maximum(h, 0.0)
    logits = h @ tensors["8.weight"].T.astype(np.float64) + tensors["8.bias"]
    expected = np.load("logits.npy")[:2000]
    difference = np.abs(logits - expected).max()
    print(f"largest difference from myelin predict's logits: {difference:.3g}")
    # float32 against float64 over three layers of up to 784 terms: ~1e-5 of logits of ~10.
    check("the numpy forward pass gives myelin's logits", difference < 1e-3)
    check("and its classes", (logits.argmax(1) == expected.argmax(1)).mean() > 0.999)
    print(f"{failures} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
