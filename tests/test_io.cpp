// Data and checkpoint readers: valid files, every kind of bad file named in the issue, and
// truncated and bit-flipped copies of real files, which must give an error or a valid result,
// never a crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include "myelin/app.hpp"
#include "test_util.hpp"

namespace myelin {
namespace {

using test::error_of;
namespace fs = std::filesystem;

const std::string kFashion = "/usr/share/datasets/fashion-mnist/";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string temp_path(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / "myelin-test-io";
  fs::create_directories(dir);
  return (dir / name).string();
}

void write_bytes(const std::string& path, const std::vector<unsigned char>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

std::vector<unsigned char> idx_bytes(std::uint8_t type, const std::vector<std::uint32_t>& dims,
                                     const std::vector<unsigned char>& data) {
  std::vector<unsigned char> b = {0, 0, type, static_cast<unsigned char>(dims.size())};
  for (std::uint32_t d : dims) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(d >> s));
  }
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

TEST(Idx, ReadsFashionMnist) {
  const Tensor labels = read_idx(kFashion + "t10k-labels-idx1-ubyte.gz");
  EXPECT_EQ(labels.shape(), Shape{10000});
  EXPECT_EQ(labels.dtype(), DType::kUInt8);
  const Tensor images = read_idx(kFashion + "t10k-images-idx3-ubyte.gz");
  EXPECT_EQ(images.shape(), (Shape{10000, 28, 28}));
  // The first test label of Fashion-MNIST is 9 (ankle boot); every label is a class 0..9.
  EXPECT_EQ(labels.data<std::uint8_t>()[0], 9);
  for (std::uint8_t l : labels.to_vector<std::uint8_t>()) EXPECT_LT(l, 10);
}

TEST(Idx, BadFilesAreNamedErrors) {
  std::string m = error_of([] { read_idx("/nonexistent/file.idx"); });
  EXPECT_TRUE(contains(m, "/nonexistent/file.idx") && contains(m, "cannot open")) << m;
  m = error_of([] { parse_idx({0, 1, 8, 1, 0, 0, 0, 1, 7}, "x.idx"); });
  EXPECT_TRUE(contains(m, "x.idx") && contains(m, "magic")) << m;
  m = error_of([] { parse_idx(idx_bytes(8, {10}, {1, 2, 3}), "short.idx"); });
  EXPECT_TRUE(contains(m, "short.idx") && contains(m, "truncated")) << m;
  m = error_of([] { parse_idx(idx_bytes(0x42, {1}, {1}), "odd.idx"); });
  EXPECT_TRUE(contains(m, "unknown IDX element type")) << m;
  m = error_of([] { parse_idx(idx_bytes(8, {2}, {1, 2, 3}), "long.idx"); });
  EXPECT_TRUE(contains(m, "after its")) << m;
  const Tensor ok = parse_idx(idx_bytes(8, {2, 2}, {1, 2, 3, 4}), "ok.idx");
  EXPECT_EQ(ok.to_vector<std::uint8_t>(), (std::vector<std::uint8_t>{1, 2, 3, 4}));
  // Big-endian ints.
  EXPECT_EQ(parse_idx(idx_bytes(0x0C, {1}, {0, 0, 1, 2}), "int.idx").to_vector<std::int32_t>()[0],
            258);
}

TEST(Idx, CountsThatDifferAndLabelsOutOfRangeAreErrors) {
  const std::string images = temp_path("images.idx"), labels = temp_path("labels.idx");
  write_bytes(images, idx_bytes(8, {3, 2, 2}, std::vector<unsigned char>(12, 7)));
  write_bytes(labels, idx_bytes(8, {2}, {0, 1}));
  DataSpec spec;
  spec.train_features = images;
  spec.train_labels = labels;
  spec.dev_size = 1;
  std::string m = error_of([&] { load_data(spec, 0, false); });
  EXPECT_TRUE(contains(m, "has 3 rows but") && contains(m, "2 labels")) << m;
  write_bytes(labels, idx_bytes(8, {3}, {0, 1, 12}));
  const DataSplits d = load_data(spec, 0, false);
  EXPECT_EQ(d.classes, 13);
  m = error_of([&] { check_labels(d.train, 10, "training split"); });
  EXPECT_TRUE(contains(m, "label 12") && contains(m, "out of range")) << m;
}

// Data mismatch: train-dev is carved from the training file beside dev (the dev rows are those
// of a spec without it), and a dev set of its own files replaces the carved one.
TEST(Data, TrainDevAndDevFilesSplitAsSpecified) {
  const std::string x = temp_path("x.npy"), y = temp_path("y.npy");
  std::vector<float> rows(40);
  std::vector<std::int64_t> labels(40);
  for (int i = 0; i < 40; ++i) {
    rows[static_cast<std::size_t>(i)] = static_cast<float>(i);  // each row holds its index
    labels[static_cast<std::size_t>(i)] = i % 3;
  }
  write_npy(x, Tensor::from_vector<float>(Shape{40, 1}, rows));
  write_npy(y, Tensor::from_vector<std::int64_t>(Shape{40}, labels));
  DataSpec spec;
  spec.format = "npy";
  spec.train_features = x;
  spec.train_labels = y;
  spec.dev_size = 8;
  const DataSplits plain = load_data(spec, 5, false);
  spec.train_dev_size = 6;
  const DataSplits d = load_data(spec, 5, false);
  EXPECT_EQ(d.train.rows(), 26);
  EXPECT_EQ(d.train_dev.rows(), 6);
  EXPECT_TRUE(bitwise_equal(d.dev.features, plain.dev.features));
  std::vector<float> seen;
  for (const Split* s : {&d.train, &d.train_dev, &d.dev}) {
    const std::vector<float> v = s->features.to_vector<float>();
    seen.insert(seen.end(), v.begin(), v.end());
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, rows);  // every row in exactly one split
  spec.train_dev_size = 32;
  const std::string m = error_of([&] { load_data(spec, 5, false); });
  EXPECT_TRUE(contains(m, "dev_size 8 and train_dev_size 32 leave no training rows")) << m;

  const std::string dx = temp_path("dx.npy"), dy = temp_path("dy.npy");
  write_npy(dx, Tensor::from_vector<float>(Shape{3, 1}, {100, 101, 102}));
  write_npy(dy, Tensor::from_vector<std::int64_t>(Shape{3}, {0, 1, 2}));
  spec.train_dev_size = 4;
  spec.dev_size = 0;
  spec.dev_features = dx;
  spec.dev_labels = dy;
  const DataSplits own = load_data(spec, 5, false);
  EXPECT_EQ(own.dev.features.to_vector<float>(), (std::vector<float>{100, 101, 102}));
  EXPECT_EQ(own.train.rows() + own.train_dev.rows(), 40);
}

TEST(Npy, RoundTripsAndRejectsBadFiles) {
  const std::string path = temp_path("a.npy");
  const Tensor t = test::random_tensor(Shape{3, 5}, 1, -1, 1, DType::kFloat32);
  write_npy(path, t);
  EXPECT_TRUE(bitwise_equal(read_npy(path), t));
  write_npy(path, Tensor::from_vector<std::int64_t>(Shape{4}, {1, -2, 3, 4}));
  EXPECT_EQ(read_npy(path).to_vector<std::int64_t>(), (std::vector<std::int64_t>{1, -2, 3, 4}));
  std::vector<unsigned char> bytes = read_file_bytes(path);
  bytes.resize(bytes.size() - 3);
  EXPECT_TRUE(contains(error_of([&] { parse_npy(bytes, "cut.npy"); }), "truncated"));
  EXPECT_TRUE(contains(error_of([] {
                         parse_npy({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, "b.npy");
                       }),
                       "magic"));
  std::string header = "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }";
  // Magic, version 1.0, header length, header, one complex64 value (zeros).
  std::vector<unsigned char> complex(10 + header.size() + 8, 0);
  const unsigned char prefix[] = {
      0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<unsigned char>(header.size()), 0};
  std::copy(std::begin(prefix), std::end(prefix), complex.begin());
  std::copy(header.begin(), header.end(), complex.begin() + 10);
  EXPECT_TRUE(contains(error_of([&] { parse_npy(complex, "c.npy"); }), "not supported"));
}

TEST(Csv, ReadsHeaderAndRowsAndNamesBadLines) {
  const CsvTable t = parse_csv("a,b,label\n1,2.5,0\n3,4,1\n", "t.csv");
  EXPECT_EQ(t.header, (std::vector<std::string>{"a", "b", "label"}));
  EXPECT_EQ(t.values.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.values.to_vector<float>()[1], 2.5f);
  EXPECT_TRUE(
      contains(error_of([] { parse_csv("1,2\n3\n", "r.csv"); }), "r.csv:2: 1 fields, expected 2"));
  EXPECT_TRUE(contains(error_of([] { parse_csv("1,2\n3,x\n", "r.csv"); }), "'x') is not a number"));
  EXPECT_TRUE(contains(error_of([] { parse_csv("", "e.csv"); }), "no data rows"));
}

// A number a float32 cannot hold, or that is not a number, is an error naming line and field; a
// first line mixing numbers and words is a damaged row, not a header.
TEST(Csv, MissingValuesAreNaNWhereAllowedAndSayWhereTheyAre) {
  const CsvTable t = parse_csv("a,b,c\n1,,3\n,5,6\nnan,8, \n", "m.csv", true);
  const std::vector<float> v = t.values.to_vector<float>();
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_TRUE(std::isnan(v[1]));
  EXPECT_TRUE(std::isnan(v[3]));
  EXPECT_TRUE(std::isnan(v[6]));
  EXPECT_TRUE(std::isnan(v[8]));
  EXPECT_EQ(v[7], 8.0f);
  EXPECT_EQ(t.first_missing_line, (std::vector<std::size_t>{3, 2, 4}));
  // Not allowed (the default): an empty field is an error naming it.
  const std::string m = error_of([] { parse_csv("1,,3\n", "m.csv"); });
  EXPECT_TRUE(contains(m, "m.csv:1: field 2 ('') is not a number")) << m;
  // A row of the wrong width is still an error.
  EXPECT_TRUE(contains(error_of([] { parse_csv("1,2\n3\n", "w.csv", true); }),
                       "w.csv:2: 1 fields, expected 2"));
}

TEST(Csv, ValuesOutOfRangeNotANumberAndDamagedFirstRowsAreErrors) {
  std::string m = error_of([] { parse_csv("1,2\n1e400,3\n", "big.csv"); });
  EXPECT_TRUE(contains(m, "big.csv:2: field 1 ('1e400') is out of range for float32")) << m;
  m = error_of([] { parse_csv("1,2\n4,1e39\n", "big.csv"); });
  EXPECT_TRUE(contains(m, "big.csv:2: field 2 ('1e39') is out of range for float32")) << m;
  m = error_of([] { parse_csv("1,nan\n", "nan.csv"); });
  EXPECT_TRUE(contains(m, "nan.csv:1: field 2 ('nan') is not a finite number")) << m;
  m = error_of([] { parse_csv("1,-inf\n", "inf.csv"); });
  EXPECT_TRUE(contains(m, "inf.csv:1: field 2 ('-inf') is not a finite number")) << m;
  m = error_of([] { parse_csv("1,2x,3\n4,5,6\n", "typo.csv"); });
  EXPECT_TRUE(contains(m, "typo.csv:1: field 2 ('2x') is not a number")) << m;
  EXPECT_EQ(parse_csv("x,y\n1e-50,2\n", "tiny.csv").values.to_vector<float>()[0], 0.0f);
}

// gzip files may hold several members (gzip a b > c): they are read one after the other; bytes
// after the last member are an error, not ignored.
TEST(Gzip, MembersAreJoinedAndTrailingBytesAreErrors) {
  std::ifstream in(kFashion + "t10k-labels-idx1-ubyte.gz", std::ios::binary);
  const std::vector<unsigned char> gz((std::istreambuf_iterator<char>(in)),
                                      std::istreambuf_iterator<char>());
  const std::vector<unsigned char> one = gunzip(gz, "one.gz");
  std::vector<unsigned char> twice = gz;
  twice.insert(twice.end(), gz.begin(), gz.end());
  std::vector<unsigned char> expected = one;
  expected.insert(expected.end(), one.begin(), one.end());
  EXPECT_EQ(gunzip(twice, "two.gz"), expected);
  std::vector<unsigned char> trailing = gz;
  trailing.insert(trailing.end(), {'j', 'u', 'n', 'k'});
  const std::string m = error_of([&] { gunzip(trailing, "junk.gz"); });
  EXPECT_TRUE(contains(m, "junk.gz: bad gzip data: 4 bytes after the compressed data")) << m;
}

// Training data must be finite: a NaN or infinity in any format is an error naming the file,
// the row and the column, before anything trains on it.
TEST(Data, NonFiniteFeaturesAndEmptyRowsAreErrors) {
  const std::string x = temp_path("nan-x.npy"), y = temp_path("nan-y.npy");
  Tensor features = test::random_tensor(Shape{10, 3}, 4, -1, 1, DType::kFloat32);
  features.data<float>()[4 * 3 + 1] = std::numeric_limits<float>::quiet_NaN();
  write_npy(x, features);
  write_npy(y, Tensor::from_vector<std::int64_t>(Shape{10}, {0, 1, 0, 1, 0, 1, 0, 1, 0, 1}));
  DataSpec spec;
  spec.format = "npy";
  spec.train_features = x;
  spec.train_labels = y;
  spec.dev_size = 2;
  std::string m = error_of([&] { load_data(spec, 0, false); });
  EXPECT_TRUE(contains(m, x + ": row 4, column 1: nan is not a finite number")) << m;
  features.data<float>()[4 * 3 + 1] = std::numeric_limits<float>::infinity();
  write_npy(x, features);
  m = error_of([&] { load_data(spec, 0, false); });
  EXPECT_TRUE(contains(m, x + ": row 4, column 1: inf is not a finite number")) << m;
  write_npy(x, Tensor::zeros(Shape{10, 0}, DType::kFloat32));
  m = error_of([&] { load_data(spec, 0, false); });
  EXPECT_TRUE(contains(m, x + ": has no feature columns")) << m;
}

// Normalisation statistics from a checkpoint: a standard deviation that is not positive and
// finite would turn every input into inf or NaN.
TEST(Data, NormalizationStatisticsMustBeUsable) {
  const Normalization ok = Normalization::from_json(R"({"mean": [1, 2], "std": [0.5, 3]})", "a");
  EXPECT_EQ(ok.stddev, (std::vector<float>{0.5f, 3.0f}));
  std::string m =
      error_of([] { Normalization::from_json(R"({"mean": [1, 2], "std": [0.5, 0]})", "c.st"); });
  EXPECT_TRUE(contains(m, "c.st: normalisation std[1] = 0 must be positive and finite")) << m;
  m = error_of([] { Normalization::from_json(R"({"mean": [1e39], "std": [1]})", "c.st"); });
  EXPECT_TRUE(contains(m, "c.st: normalisation mean[0]")) << m;
  m = error_of([] { Normalization::from_json(R"({"mean": [1, 2], "std": [1]})", "c.st"); });
  EXPECT_TRUE(contains(m, "c.st: normalisation statistics of different lengths")) << m;
}

// A file built byte by byte from the safetensors specification, not written by myelin: a
// space-padded header with __metadata__, an I64 tensor and an F32 tensor.
TEST(Safetensors, ReadsAFileBuiltFromTheSpecification) {
  const std::string header = R"({"__metadata__":{"format":"pt","note":"hand made"},)"
                             R"("counts":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},)"
                             R"("w":{"dtype":"F32","shape":[1,2],"data_offsets":[16,24]}}    )";
  std::vector<unsigned char> bytes;
  std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i, n >>= 8) bytes.push_back(static_cast<unsigned char>(n & 0xff));
  for (char ch : header) bytes.push_back(static_cast<unsigned char>(ch));
  const std::int64_t counts[2] = {7, -3};
  const float w[2] = {1.5f, -0.25f};
  const auto* c = reinterpret_cast<const unsigned char*>(counts);
  const auto* f = reinterpret_cast<const unsigned char*>(w);
  for (int i = 0; i < 16; ++i) bytes.push_back(c[i]);
  for (int i = 0; i < 8; ++i) bytes.push_back(f[i]);
  const SafeTensors st = parse_safetensors(bytes, "hand.safetensors");
  EXPECT_EQ(st.metadata.at("note"), "hand made");
  EXPECT_EQ(st.at("counts").dtype(), DType::kInt64);
  EXPECT_EQ(st.at("counts").to_vector<std::int64_t>(), (std::vector<std::int64_t>{7, -3}));
  EXPECT_EQ(st.at("w").shape(), (Shape{1, 2}));
  EXPECT_EQ(st.at("w").to_vector<float>(), (std::vector<float>{1.5f, -0.25f}));
}

// The length prefix, then the header, then zeroed data.
std::vector<unsigned char> safetensors_with(const std::string& header, std::size_t data_bytes) {
  std::vector<unsigned char> bytes;
  bytes.reserve(8 + header.size() + data_bytes);
  std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i, n >>= 8) bytes.push_back(static_cast<unsigned char>(n & 0xff));
  for (char c : header) bytes.push_back(static_cast<unsigned char>(c));
  for (std::size_t i = 0; i < data_bytes; ++i) bytes.push_back(0);
  return bytes;
}

TEST(Safetensors, BadFilesAreNamedErrors) {
  std::vector<unsigned char> bytes = safetensors_with("{}", 0);
  bytes[0] = 200;  // a header longer than the file
  EXPECT_TRUE(
      contains(error_of([&] { parse_safetensors(bytes, "big.st"); }), "larger than the file"));
  EXPECT_TRUE(contains(error_of([] { parse_safetensors(safetensors_with("{oops", 0), "bad.st"); }),
                       "not valid JSON"));
  EXPECT_TRUE(
      contains(error_of([] {
                 parse_safetensors(
                     safetensors_with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                      12),
                     "overlap.st");
               }),
               "overlap"));
  EXPECT_TRUE(contains(error_of([] {
                         parse_safetensors(
                             safetensors_with(
                                 R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8),
                             "range.st");
                       }),
                       "out of range"));
  EXPECT_TRUE(contains(error_of([] {
                         parse_safetensors(
                             safetensors_with(
                                 R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
                             "shape.st");
                       }),
                       "needs 12 bytes"));
  EXPECT_TRUE(contains(error_of([] {
                         parse_safetensors(
                             safetensors_with(
                                 R"({"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}})", 2),
                             "dtype.st");
                       }),
                       "F16 is not supported"));
  // A dtype that does not match the bytes: two F64 values need 16 bytes, not 8.
  EXPECT_TRUE(contains(error_of([] {
                         parse_safetensors(
                             safetensors_with(
                                 R"({"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})", 8),
                             "f64.st");
                       }),
                       "F64 [2] needs 16 bytes, its offsets span 8"));
}

// The writer stores a CRC-32 of every tensor's bytes; the reader checks them, so a flipped bit
// in the weights is an error naming the tensor, not a silently different model. Files without
// checksums (PyTorch's) load as before (ReadsAFileBuiltFromTheSpecification).
TEST(Safetensors, AFlippedBitInATensorIsAnErrorNamingIt) {
  const std::string path = temp_path("checked.safetensors");
  write_safetensors(path,
                    {{"w", test::random_tensor(Shape{4, 4}, 1, -1, 1, DType::kFloat32)},
                     {"b", test::random_tensor(Shape{4}, 2, -1, 1, DType::kFloat32)}},
                    {{"note", "x"}});
  std::vector<unsigned char> bytes = read_file_bytes(path);
  const SafeTensors ok = parse_safetensors(bytes, "ok.safetensors");
  EXPECT_EQ(ok.metadata, (std::map<std::string, std::string>{{"note", "x"}}));
  bytes[bytes.size() - 1] ^= 0x10;  // the last byte of "b", the last tensor written
  std::string m = error_of([&] { parse_safetensors(bytes, "flip.safetensors"); });
  EXPECT_TRUE(contains(m, "flip.safetensors: tensor 'b' does not match its checksum")) << m;
  bytes[bytes.size() - 1] ^= 0x10;
  bytes[bytes.size() - 16 - 1] ^= 0x01;  // the last byte of "w"
  m = error_of([&] { parse_safetensors(bytes, "flip.safetensors"); });
  EXPECT_TRUE(contains(m, "flip.safetensors: tensor 'w' does not match its checksum")) << m;
}

TEST(Safetensors, WriteThenReadGivesTheSameTensorsAndMetadata) {
  const std::string path = temp_path("rt.safetensors");
  const std::vector<std::pair<std::string, Tensor>> tensors = {
      {"0.weight", test::random_tensor(Shape{3, 4}, 2, -1, 1, DType::kFloat32)},
      {"1.num_batches_tracked", Tensor::scalar<std::int64_t>(42)}};
  write_safetensors(path, tensors, {{"epoch", "3"}});
  const SafeTensors st = read_safetensors(path);
  EXPECT_EQ(st.metadata.at("epoch"), "3");
  EXPECT_TRUE(bitwise_equal(st.at("0.weight"), tensors[0].second));
  EXPECT_EQ(st.at("1.num_batches_tracked").shape(), Shape{});
  EXPECT_EQ(st.at("1.num_batches_tracked").item(), 42.0);
  // The header is padded to a multiple of 8 bytes, as the reference writer does.
  const std::vector<unsigned char> bytes = read_file_bytes(path);
  EXPECT_EQ(bytes[0] % 8, 0);
}

// Truncated and bit-flipped copies of real files, for every reader.
template <typename Reader>
void fuzz(const std::vector<unsigned char>& original, const std::string& what, Reader read) {
  int errors = 0, results = 0;
  auto attempt = [&](const std::vector<unsigned char>& bytes) {
    try {
      read(bytes);
      ++results;
    } catch (const Error&) {
      ++errors;
    }
  };
  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{9},
                          original.size() / 3, original.size() / 2, original.size() - 1}) {
    attempt(std::vector<unsigned char>(
        original.begin(),
        original.begin() + static_cast<std::ptrdiff_t>(std::min(cut, original.size()))));
  }
  Rng rng(17, stable_id(what.c_str()));
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<unsigned char> bytes = original;
    const int flips = 1 + static_cast<int>(rng.below(4));
    for (int k = 0; k < flips; ++k) {
      // Headers are where damage matters most: half of the flips land in the first 64 bytes.
      const std::size_t limit =
          trial % 2 == 0 ? std::min<std::size_t>(64, bytes.size()) : bytes.size();
      const std::size_t at = rng.below(limit);
      bytes[at] ^= static_cast<unsigned char>(1u << rng.below(8));
    }
    attempt(bytes);
  }
  std::cout << "fuzz " << what << ": " << errors << " errors, " << results
            << " valid results, no crash\n";
  EXPECT_GT(errors, 0) << what;
}

TEST(Readers, DamagedCopiesOfRealFilesGiveErrorsNotCrashes) {
  const std::vector<unsigned char> gz = [] {
    std::ifstream in(kFashion + "t10k-labels-idx1-ubyte.gz", std::ios::binary);
    return std::vector<unsigned char>((std::istreambuf_iterator<char>(in)),
                                      std::istreambuf_iterator<char>());
  }();
  fuzz(gz, "gzip idx",
       [](const std::vector<unsigned char>& b) { parse_idx(gunzip(b, "labels.gz"), "labels"); });
  const std::vector<unsigned char> idx = read_file_bytes(kFashion + "t10k-labels-idx1-ubyte.gz");
  fuzz(idx, "raw idx", [](const std::vector<unsigned char>& b) { parse_idx(b, "labels"); });

  const std::string npy = temp_path("fuzz.npy");
  write_npy(npy, test::random_tensor(Shape{20, 7}, 3, -1, 1, DType::kFloat32));
  fuzz(read_file_bytes(npy), "npy",
       [](const std::vector<unsigned char>& b) { parse_npy(b, "fuzz.npy"); });

  const std::string st = temp_path("fuzz.safetensors");
  write_safetensors(st,
                    {{"0.weight", test::random_tensor(Shape{4, 3}, 4, -1, 1, DType::kFloat32)},
                     {"0.bias", Tensor::zeros(Shape{4})},
                     {"1.num_batches_tracked", Tensor::scalar<std::int64_t>(5)}},
                    {{"format", "myelin"}});
  fuzz(read_file_bytes(st), "safetensors",
       [](const std::vector<unsigned char>& b) { parse_safetensors(b, "fuzz.st"); });

  const std::string csv = "f1,f2,label\n0.5,1,0\n2,3,1\n4,5,2\n";
  fuzz(std::vector<unsigned char>(csv.begin(), csv.end()), "csv",
       [](const std::vector<unsigned char>& b) {
         parse_csv(std::string(b.begin(), b.end()), "fuzz.csv");
       });
}

}  // namespace
}  // namespace myelin
