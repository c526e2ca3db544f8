#!/usr/bin/env python3
"""One epoch of the plain Fashion-MNIST MLP in PyTorch, as bench/specs/mlp_b*.json trains it in
myelin: 784-512-256-10 with ReLU, Adam (lr 0.001), softmax cross-entropy, float32, 55,000
training rows in a shuffled order, each batch gathered from the uint8 images, converted and
normalised per feature (statistics of the training rows) inside the timed loop. Prints one JSON
line: samples/s over the epoch's wall time, as myelin's metrics.csv reports it."""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
from torch import nn


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    rank = data[3]
    shape = struct.unpack(">" + "I" * rank, data[4 : 4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(shape)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--dev-size", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    images = read_idx(os.path.join(args.data, "train-images-idx3-ubyte.gz")).reshape(-1, 784)
    labels = read_idx(os.path.join(args.data, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    order = torch.randperm(images.shape[0])
    train = order[args.dev_size :]
    features = torch.from_numpy(images.copy())  # uint8, as myelin keeps the data
    targets = torch.from_numpy(labels)
    train_features = features[train].float()
    mean = train_features.mean(0)
    std = train_features.std(0, unbiased=False)
    std[std == 0] = 1.0  # constant pixels: centred, not scaled
    del train_features

    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                          nn.Linear(256, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    rows = train.numel()
    shuffled = train[torch.randperm(rows)]
    start = time.perf_counter()
    total = 0.0
    for begin in range(0, rows, args.batch):
        index = shuffled[begin : begin + args.batch]
        x = (features[index].float() - mean) / std
        y = targets[index]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * index.numel()
    seconds = time.perf_counter() - start
    print(json.dumps({"samples_per_second": rows / seconds, "seconds": seconds, "rows": rows,
                      "loss": total / rows, "threads": torch.get_num_threads(),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
