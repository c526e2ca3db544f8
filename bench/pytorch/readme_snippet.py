#!/usr/bin/env python3
"""The README's PyTorch snippet, run as written on a myelin run: the classes PyTorch computes
from the loaded model must be those `myelin predict` writes.

  readme_snippet.py MYELIN_BINARY WORK_DIR
"""
import os
import re
import shutil
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def snippet(name):
    text = open(os.path.join(ROOT, "README.md")).read()
    match = re.search(r"<!-- snippet: " + name + r"\b[^\n]*-->\n```python\n(.*?)```", text, re.S)
    if not match:
        sys.exit(f"the README has no snippet '{name}'")
    return match.group(1)


def main():
    myelin, work = os.path.abspath(sys.argv[1]), sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chdir(work)
    subprocess.run([myelin, "train", "--out", "run", "--limit", "3000", "--dev-size", "500",
                    "--epochs", "1"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([myelin, "predict", "run", "--out", "classes.npy", "--input",
                    "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"],
                   check=True, stdout=subprocess.DEVNULL)
    read = re.sub(r'^run = ".*"$', 'run = "run"', snippet("read"), flags=re.M)
    scope = {}
    exec(read + snippet("torch"), scope)
    agree = (scope["classes"] == np.load("classes.npy")).mean()
    print(f"README snippet: PyTorch's classes agree with myelin predict on {agree:.4%} of "
          "10,000 test images")
    # Float sums in another order can flip a near-tie; more than a handful is a real difference.
    sys.exit(0 if agree > 0.999 else 1)


if __name__ == "__main__":
    main()
