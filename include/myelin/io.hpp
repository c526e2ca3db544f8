#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "myelin/export.hpp"
#include "myelin/tensor.hpp"

namespace myelin {

// Readers of data files. Every problem (a missing file, a wrong magic number, a truncated file,
// sizes that do not match) is a myelin::Error naming the file and what is wrong.

// Throws unless `path` names a regular file (not a directory, a device or a pipe).
MYELIN_API void check_regular_file(const std::string& path);
// The whole file, inflated if it is gzip-compressed (detected by its magic bytes).
MYELIN_API std::vector<unsigned char> read_file_bytes(const std::string& path);
// Inflates gzip data held in memory; `name` is used in error messages.
MYELIN_API std::vector<unsigned char> gunzip(const std::vector<unsigned char>& data,
                                             const std::string& name);

// Durable writes. write_file_atomically leaves `path` with either its old content or all of the
// new after a crash at any instant: the pieces go to `path`.tmp, which is flushed to the disk and
// renamed over `path`, and the directory is flushed so that the rename survives a power cut too.
struct ByteSpan {
  const void* data;
  std::size_t size;
};
MYELIN_API void write_file_atomically(const std::string& path, const std::vector<ByteSpan>& pieces);
MYELIN_API void write_file_atomically(const std::string& path, const std::string& text);
// Flushes a directory's entries (files made, renamed or removed in it) to the disk.
MYELIN_API void sync_directory(const std::string& path);

// IDX, the MNIST format (gzip or raw): magic 0x00 0x00 <type> <rank>, big-endian dimensions,
// big-endian data. unsigned byte data stays uint8; int32 becomes int32; float and double
// become float32 and float64; signed bytes and shorts become int32.
MYELIN_API Tensor read_idx(const std::string& path);
MYELIN_API Tensor parse_idx(const std::vector<unsigned char>& bytes, const std::string& name);

// NumPy .npy (versions 1.0 to 3.0), C order, types <f4 <f8 <i4 <i8 |u1 (and |i1, <i2, <u2 read
// as int32), little-endian.
MYELIN_API Tensor read_npy(const std::string& path);
MYELIN_API Tensor parse_npy(const std::vector<unsigned char>& bytes, const std::string& name);
MYELIN_API void write_npy(const std::string& path, const Tensor& tensor);

// CSV of numbers, comma-separated, one row per line; a first line that is not numeric is a
// header and is skipped. Every row must have the same number of fields. float32 [rows, cols].
// Empty fields (and "nan") are errors, unless `missing_allowed`: then they are NaN, and the
// table says where each column's first one is, so that a caller can accept them in some columns
// (missing labels) and name the place in others.
struct CsvTable {
  Tensor values;
  std::vector<std::string> header;  // empty when the file has none
  // Per column: the line of its first missing value, 0 when it has none (with missing_allowed).
  std::vector<std::size_t> first_missing_line;
};
MYELIN_API CsvTable read_csv(const std::string& path, bool missing_allowed = false);
MYELIN_API CsvTable parse_csv(const std::string& text, const std::string& name,
                              bool missing_allowed = false);

}  // namespace myelin
