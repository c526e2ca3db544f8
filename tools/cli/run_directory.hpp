#pragma once

// The files of a run directory, written so that a run killed at any instant (kill -9, a power
// cut) resumes to the bits of an uninterrupted one:
//   spec.json, metrics.csv, steps.jsonl       the run's definition and its logs
//   checkpoints/00000007/{model,optimizer}.safetensors
//   checkpoint -> checkpoints/00000007        the commit point: a link replaced atomically
//   model.safetensors -> checkpoint/model.safetensors          paths that stay the same
//   optimizer.safetensors -> checkpoint/optimizer.safetensors
//   best.safetensors -> checkpoint/best.safetensors            the best model by the dev metric
// A checkpoint records how long the logs were when it was taken; a resume cuts what was logged
// after it, so the logs never hold a line twice.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace myelin::cli {

// An append-only log: each line reaches the file as it is logged (so it can be followed with
// tail -f); sync() makes it durable and returns the file's length.
class RunLog {
 public:
  explicit RunLog(const std::string& path);
  ~RunLog();
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;
  void append(const std::string& line);
  std::uint64_t sync();

 private:
  std::string path_;
  int fd_ = -1;
};

// A new run directory, made all at once: the files are written into a hidden directory beside it,
// which is renamed to `run_dir` (an empty directory there is replaced). A failure, or a kill,
// before that leaves no run directory; the hidden one is removed by the next attempt.
void create_run_directory(const std::string& run_dir,
                          const std::vector<std::pair<std::string, std::string>>& files);

// The committed checkpoint's files; empty when the run has none. Run directories written before
// the checkpoint link existed hold model.safetensors and optimizer.safetensors as plain files.
struct CheckpointFiles {
  std::string model;
  std::string optimizer;
  std::string best;  // best.safetensors (the best model by the dev metric), when it has one
  bool present() const { return !model.empty(); }
};
CheckpointFiles committed_checkpoint(const std::string& run_dir);

// Writes a new checkpoint: `write(directory)` writes model.safetensors and optimizer.safetensors
// (and best.safetensors when the model is the best so far) into a new directory, which is
// flushed to the disk and then committed by replacing the link. A checkpoint that writes no best
// keeps the previous one's. The previous checkpoint is removed after the commit.
void commit_checkpoint(const std::string& run_dir,
                       const std::function<void(const std::string& directory)>& write);

// Removes what a killed run left half-made (an uncommitted checkpoint, temporary files) and
// restores the links to the committed checkpoint.
void tidy_run_directory(const std::string& run_dir);

// Cuts a log back to `length` bytes (what it held at the checkpoint); false when it is shorter.
bool cut_log(const std::string& path, std::uint64_t length);

// A number in the logs (JSON: `digits` significant digits; CSV: a printf format of one double).
// Non-finite values stay machine-readable: null in JSON, and nan, inf or -inf in CSV (never
// "-nan", whatever the sign bit).
std::string json_number(double value, int digits);
std::string csv_number(double value, const char* format);

}  // namespace myelin::cli
