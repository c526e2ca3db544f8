// Run directories whose checkpoints have one commit point (see run_directory.hpp).
#include "run_directory.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "commands.hpp"
#include "myelin/error.hpp"
#include "myelin/io.hpp"

namespace myelin::cli {

namespace fs = std::filesystem;

namespace {

constexpr const char* kLink = "checkpoint";
constexpr const char* kStore = "checkpoints";
constexpr const char* kFiles[] = {"model.safetensors", "optimizer.safetensors"};
// The best model by the dev metric so far: in a checkpoint from the first epoch's on.
constexpr const char* kBest = "best.safetensors";

std::string error_text() {
  return std::strerror(errno);
}

// The path without a trailing separator, so that "runs/a/" names the directory a.
fs::path directory_path(const std::string& run_dir) {
  fs::path p = fs::path(run_dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p;
}

// Points `link` at `target` in one step: a new link is made beside it and renamed over it.
void replace_link(const fs::path& link, const std::string& target) {
  const fs::path fresh = link.string() + ".tmp";
  std::error_code ec;
  fs::remove(fresh, ec);
  fs::create_symlink(target, fresh, ec);
  if (ec) fail(fresh.string(), ": cannot make the link (", ec.message(), ")");
  fs::rename(fresh, link, ec);
  if (ec)
    fail(link.string(), ": cannot replace it with a link to ", target, " (", ec.message(), ")");
  sync_directory(link.parent_path().empty() ? "." : link.parent_path().string());
}

// The number of the committed checkpoint (0: none).
long committed_number(const fs::path& dir) {
  std::error_code ec;
  const fs::path target = fs::read_symlink(dir / kLink, ec);
  if (ec) return 0;
  try {
    return std::stol(target.filename().string());
  } catch (const std::exception&) {
    fail((dir / kLink).string(), ": links to ", target.string(), ", not to a numbered checkpoint");
  }
}

std::string numbered(long n) {
  char name[24];
  std::snprintf(name, sizeof name, "%08ld", n);
  return name;
}

// model.safetensors and optimizer.safetensors link to the committed checkpoint's files.
void link_files(const fs::path& dir) {
  for (const char* file : kFiles) {
    const std::string want = std::string(kLink) + "/" + file;
    std::error_code ec;
    if (fs::is_symlink(dir / file, ec) && fs::read_symlink(dir / file, ec).string() == want) {
      continue;
    }
    replace_link(dir / file, want);
  }
  // best.safetensors links to the committed checkpoint's best, when it has one.
  std::error_code ec;
  const std::string best = std::string(kLink) + "/" + kBest;
  if (fs::exists(dir / kLink / kBest, ec)) {
    if (!fs::is_symlink(dir / kBest, ec) || fs::read_symlink(dir / kBest, ec).string() != best) {
      replace_link(dir / kBest, best);
    }
  } else if (fs::is_symlink(dir / kBest, ec)) {
    fs::remove(dir / kBest, ec);
  }
}

// Removes every checkpoint but the committed one.
void remove_uncommitted(const fs::path& dir) {
  const std::string keep = committed_number(dir) > 0 ? numbered(committed_number(dir)) : "";
  std::error_code ec;
  if (!fs::is_directory(dir / kStore, ec)) return;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir / kStore, ec)) {
    if (entry.path().filename() == keep) continue;
    fs::remove_all(entry.path(), ec);
    if (ec) fail(entry.path().string(), ": cannot remove an old checkpoint (", ec.message(), ")");
  }
}

}  // namespace

RunLog::RunLog(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(path, ": cannot open the log (", error_text(), ")");
}

RunLog::~RunLog() {
  if (fd_ >= 0) ::close(fd_);
}

void RunLog::append(const std::string& line) {
  const char* at = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, at, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(path_, ": cannot write to the log (", error_text(), ")");
    at += n;
    left -= static_cast<std::size_t>(n);
  }
}

std::uint64_t RunLog::sync() {
  if (::fsync(fd_) != 0) fail(path_, ": cannot flush the log to the disk (", error_text(), ")");
  const off_t end = ::lseek(fd_, 0, SEEK_END);
  if (end < 0) fail(path_, ": cannot tell the log's length (", error_text(), ")");
  return static_cast<std::uint64_t>(end);
}

void create_run_directory(const std::string& run_dir,
                          const std::vector<std::pair<std::string, std::string>>& files) {
  const fs::path dir = directory_path(run_dir);
  const fs::path parent = dir.parent_path().empty() ? fs::path(".") : dir.parent_path();
  const fs::path staging = parent / ("." + dir.filename().string() + ".partial");
  std::error_code ec;
  fs::remove_all(staging, ec);  // left by a start that was killed
  fs::create_directories(staging, ec);
  if (ec) {
    throw UsageError{run_dir + ": cannot create the run directory (" + ec.message() +
                     "; choose another --out)"};
  }
  try {
    for (const auto& [name, text] : files) write_file_atomically((staging / name).string(), text);
    fs::rename(staging, dir, ec);
    if (ec) {
      throw UsageError{run_dir + ": cannot create the run directory (" + ec.message() +
                       "; choose another --out)"};
    }
    sync_directory(parent.string());
  } catch (...) {
    fs::remove_all(staging, ec);
    throw;
  }
}

CheckpointFiles committed_checkpoint(const std::string& run_dir) {
  const fs::path dir = directory_path(run_dir);
  std::error_code ec;
  if (fs::is_symlink(dir / kLink, ec)) {
    if (!fs::is_directory(dir / kLink, ec)) {
      fail((dir / kLink).string(), ": links to ", fs::read_symlink(dir / kLink, ec).string(),
           ", which is missing");
    }
    const fs::path best = dir / kLink / kBest;
    return {(dir / kLink / kFiles[0]).string(), (dir / kLink / kFiles[1]).string(),
            fs::exists(best, ec) ? best.string() : std::string()};
  }
  if (fs::exists(dir / kLink, ec)) {
    fail((dir / kLink).string(), ": is not a link to a checkpoint (copies of a run directory ",
         "must keep its links: cp -r, not cp -L)");
  }
  if (fs::is_regular_file(dir / kFiles[0], ec) && !fs::is_symlink(dir / kFiles[0], ec)) {
    return {(dir / kFiles[0]).string(), (dir / kFiles[1]).string(), std::string()};
  }
  return {};
}

void commit_checkpoint(const std::string& run_dir,
                       const std::function<void(const std::string& directory)>& write) {
  const fs::path dir = directory_path(run_dir);
  const std::string name = numbered(committed_number(dir) + 1);
  const fs::path made = dir / kStore / name;
  std::error_code ec;
  fs::remove_all(made, ec);  // a checkpoint whose commit a kill stopped
  fs::create_directories(made, ec);
  if (ec) fail(made.string(), ": cannot create the checkpoint directory (", ec.message(), ")");
  write(made.string());
  // A checkpoint that writes no best of its own keeps the one before: a hard link to it (the old
  // directory is removed after the commit), or a copy where links are not possible.
  if (!fs::exists(made / kBest, ec) && committed_number(dir) > 0 &&
      fs::exists(dir / kLink / kBest, ec)) {
    fs::create_hard_link(dir / kLink / kBest, made / kBest, ec);
    if (ec) {
      ec.clear();
      fs::copy_file(dir / kLink / kBest, made / kBest, ec);
      if (ec) fail((made / kBest).string(), ": cannot keep the best model (", ec.message(), ")");
    }
  }
  sync_directory(made.string());
  sync_directory((dir / kStore).string());
  replace_link(dir / kLink, std::string(kStore) + "/" + name);  // the commit point
  link_files(dir);
  remove_uncommitted(dir);
}

void tidy_run_directory(const std::string& run_dir) {
  const fs::path dir = directory_path(run_dir);
  std::error_code ec;
  for (const char* file :
       {"spec.json", "metrics.csv", "steps.jsonl", kLink, kFiles[0], kFiles[1], kBest})
    fs::remove(dir / (std::string(file) + ".tmp"), ec);
  remove_uncommitted(dir);
  if (committed_number(dir) > 0) link_files(dir);
}

bool cut_log(const std::string& path, std::uint64_t length) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec || size < length) return false;
  if (size > length) {
    fs::resize_file(path, length, ec);
    if (ec) fail(path, ": cannot cut the log back to the checkpoint (", ec.message(), ")");
  }
  return true;
}

}  // namespace myelin::cli

namespace myelin::cli {

namespace {
std::string general(double value, int digits) {
  char text[48];
  std::snprintf(text, sizeof text, "%.*g", digits, value);
  return text;
}
}  // namespace

std::string json_number(double value, int digits) {
  return std::isfinite(value) ? general(value, digits) : "null";
}

std::string csv_number(double value, const char* format) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

}  // namespace myelin::cli
