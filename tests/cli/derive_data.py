#!/usr/bin/env python3
"""Data sets derived from Fashion-MNIST for the tool's task tests (numpy only).

  derive_data.py OUT_DIR

multi-label: four binary attributes of each image, about 20% of them missing (NaN in .npy, an
empty cell in CSV): footwear (sandal, sneaker, ankle boot), top (T-shirt, pullover, coat, shirt),
legs (trouser, dress) and bright (mean pixel above the training median).
regression: two targets the features determine: ink (mean pixel / 255) and upper (the share of
the ink in the upper half of the image).
mismatch: the training images with their classes, and dev and test sets of inverted test images
(255 - pixel): a distribution the training data does not cover.
transfer: a base task (classes 0-4, labels 0-4) and a new one (classes 5-7 as labels 0-2).
The CSV files hold 14x14 images (2x2 means), the .npy files the 28x28 originals.
"""
import gzip
import os
import sys

import numpy as np

FASHION = "/usr/share/datasets/fashion-mnist/"
TRAIN_ROWS, TEST_ROWS = 8000, 2000


def idx(name):
    with gzip.open(FASHION + name, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def attributes(images, labels, median):
    brightness = images.reshape(len(images), -1).mean(axis=1)
    return np.stack([np.isin(labels, [5, 7, 9]), np.isin(labels, [0, 2, 4, 6]),
                     np.isin(labels, [1, 3]), brightness > median], axis=1).astype(np.float32)


def hide(y, rng):
    y = y.copy()
    y[rng.random(y.shape) < 0.2] = np.nan
    return y


def pooled(images):
    n = len(images)
    return images.reshape(n, 14, 2, 14, 2).astype(np.float64).mean(axis=(2, 4)).reshape(n, 196)


def write_csv(path, features, targets, names):
    with open(path, "w") as f:
        f.write(",".join([f"p{i}" for i in range(features.shape[1])] + names) + "\n")
        for x, t in zip(features, targets):
            cells = [f"{v:g}" for v in x] + ["" if np.isnan(v) else f"{v:g}" for v in t]
            f.write(",".join(cells) + "\n")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    x_train = idx("train-images-idx3-ubyte.gz")[:TRAIN_ROWS]
    y_train = idx("train-labels-idx1-ubyte.gz")[:TRAIN_ROWS]
    x_test = idx("t10k-images-idx3-ubyte.gz")[:TEST_ROWS]
    y_test = idx("t10k-labels-idx1-ubyte.gz")[:TEST_ROWS]
    median = np.median(x_train.reshape(TRAIN_ROWS, -1).mean(axis=1))
    inverted(out, x_test, y_test)
    names = ["footwear", "top", "legs", "bright"]
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        labels = hide(attributes(x, y, median), rng)
        np.save(f"{out}/ml_{split}_x.npy", x.reshape(len(x), -1))
        np.save(f"{out}/ml_{split}_y.npy", labels)
        write_csv(f"{out}/ml_{split}.csv", pooled(x), labels, names)
        ink = x.reshape(len(x), -1).mean(axis=1) / 255.0
        upper = x[:, :14, :].reshape(len(x), -1).sum(axis=1) / np.maximum(
            x.reshape(len(x), -1).sum(axis=1), 1)
        write_csv(f"{out}/reg_{split}.csv", pooled(x), np.stack([ink, upper], axis=1),
                  ["ink", "upper"])
        np.save(f"{out}/cls_{split}_y.npy", y.astype(np.int64))
        for name, classes in (("base", [0, 1, 2, 3, 4]), ("new", [5, 6, 7])):
            rows = np.isin(y, classes)
            np.save(f"{out}/{name}_{split}_x.npy", x[rows].reshape(rows.sum(), -1))
            np.save(f"{out}/{name}_{split}_y.npy", (y[rows] - classes[0]).astype(np.int64))


def inverted(out, x_test, y_test):
    half = len(x_test) // 2
    for name, rows in (("dev", slice(0, half)), ("test", slice(half, None))):
        np.save(f"{out}/inv_{name}_x.npy", (255 - x_test[rows]).reshape(-1, 784))
        np.save(f"{out}/inv_{name}_y.npy", y_test[rows].astype(np.int64))


if __name__ == "__main__":
    main()
