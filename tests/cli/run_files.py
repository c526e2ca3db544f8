#!/usr/bin/env python3
"""Checks of a run directory's files as other programs read them.

  run_files.py jsonl FILE        every line is a JSON object; prints the first step whose loss or
                                 grad_norm is null (0 when none) and the last step
  run_files.py csv FILE          every field after the header is a number Python reads (nan and
                                 inf included); "-nan" is refused; prints the number of rows
  run_files.py finite FILE       every floating-point tensor of a safetensors file is finite
"""
import csv
import json
import struct
import sys

import numpy as np


def jsonl(path):
    first_bad, last = 0, 0
    with open(path) as f:
        for number, line in enumerate(f, 1):
            try:
                row = json.loads(line)
            except ValueError as e:
                sys.exit(f"{path}:{number}: not JSON ({e}): {line.strip()}")
            if not isinstance(row, dict):
                sys.exit(f"{path}:{number}: not a JSON object")
            last = row["step"]
            if first_bad == 0 and (row["loss"] is None or row["grad_norm"] is None):
                first_bad = row["step"]
    print(first_bad, last)


def table(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    for number, row in enumerate(rows[1:], 2):
        for field in row:
            if field.strip().lower() in ("-nan", "+nan"):
                sys.exit(f"{path}:{number}: '{field}' (NaN is written nan)")
            try:
                float(field)
            except ValueError:
                sys.exit(f"{path}:{number}: '{field}' is not a number")
    print(len(rows) - 1)


def finite(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    kinds = {"F32": np.float32, "F64": np.float64}
    for name, entry in header.items():
        if name == "__metadata__" or entry["dtype"] not in kinds:
            continue
        begin, end = entry["data_offsets"]
        values = np.frombuffer(data[begin:end], dtype=kinds[entry["dtype"]])
        bad = int(np.count_nonzero(~np.isfinite(values)))
        if bad:
            sys.exit(f"{path}: {name} holds {bad} non-finite values")


if __name__ == "__main__":
    {"jsonl": jsonl, "csv": table, "finite": finite}[sys.argv[1]](sys.argv[2])
