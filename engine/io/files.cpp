// Reading whole files, gzip, and durable writes.
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "myelin/error.hpp"
#include "myelin/io.hpp"

namespace myelin {

std::vector<unsigned char> gunzip(const std::vector<unsigned char>& data, const std::string& name) {
  z_stream stream{};
  // 16 + MAX_WBITS: expect a gzip wrapper (header and CRC-checked trailer).
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) fail(name, ": cannot start gzip decoding");
  auto bad = [&](const std::string& why) {
    inflateEnd(&stream);
    fail(name, ": bad gzip data: ", why);
  };
  std::vector<unsigned char> out;
  std::vector<unsigned char> chunk(1 << 16);
  stream.next_in = const_cast<Bytef*>(data.data());
  stream.avail_in = static_cast<uInt>(data.size());
  for (;;) {
    stream.next_out = chunk.data();
    stream.avail_out = static_cast<uInt>(chunk.size());
    const int status = inflate(&stream, Z_NO_FLUSH);
    if (status != Z_OK && status != Z_STREAM_END) {
      bad(status == Z_BUF_ERROR   ? std::string("the compressed data is truncated")
          : stream.msg != nullptr ? std::string(stream.msg)
                                  : "zlib error " + std::to_string(status));
    }
    out.insert(out.end(), chunk.begin(), chunk.begin() + (chunk.size() - stream.avail_out));
    if (status == Z_STREAM_END) {
      if (stream.avail_in == 0) break;
      // Another member (gzip a b > c) follows, or bytes that are not gzip data at all.
      if (stream.avail_in < 2 || stream.next_in[0] != 0x1f || stream.next_in[1] != 0x8b) {
        bad(std::to_string(stream.avail_in) + " bytes after the compressed data");
      }
      inflateReset(&stream);
      continue;
    }
    if (stream.avail_in == 0 && stream.avail_out != 0) bad("the compressed data is truncated");
  }
  inflateEnd(&stream);
  return out;
}

void check_regular_file(const std::string& path) {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (ec) fail(path, ": cannot open (", ec.message(), ")");
  if (std::filesystem::is_directory(status)) fail(path, ": is a directory, not a file");
  // A device or a pipe may never end (/dev/zero): only files of a known size are read.
  if (!std::filesystem::is_regular_file(status)) fail(path, ": not a regular file");
}

std::vector<unsigned char> read_file_bytes(const std::string& path) {
  check_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open (", std::strerror(errno), ")");
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  if (in.bad()) fail(path, ": read error");
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) return gunzip(bytes, path);
  return bytes;
}

namespace {

// Runs a system call again while a signal interrupts it.
template <typename F>
auto retrying(F call) {
  for (;;) {
    const auto result = call();
    if (result >= 0 || errno != EINTR) return result;
  }
}

}  // namespace

void sync_directory(const std::string& path) {
  const int fd = retrying([&] { return ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); });
  if (fd < 0) fail(path, ": cannot open the directory to flush it (", std::strerror(errno), ")");
  const int status = retrying([&] { return ::fsync(fd); });
  const int error = errno;
  ::close(fd);
  if (status != 0) fail(path, ": cannot flush the directory (", std::strerror(error), ")");
}

void write_file_atomically(const std::string& path, const std::vector<ByteSpan>& pieces) {
  const std::string temporary = path + ".tmp";
  const int fd = retrying(
      [&] { return ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644); });
  if (fd < 0) fail(path, ": cannot create ", temporary, " (", std::strerror(errno), ")");
  auto abandon = [&](const char* what) {
    const int error = errno;
    ::close(fd);
    ::unlink(temporary.c_str());
    fail(path, ": ", what, " (", std::strerror(error), ")");
  };
  for (const ByteSpan& piece : pieces) {
    const char* at = static_cast<const char*>(piece.data);
    std::size_t left = piece.size;
    while (left > 0) {
      const ssize_t n = retrying([&] { return ::write(fd, at, left); });
      if (n <= 0) abandon("write error");
      at += n;
      left -= static_cast<std::size_t>(n);
    }
  }
  if (retrying([&] { return ::fsync(fd); }) != 0) abandon("cannot flush the file to the disk");
  if (::close(fd) != 0) {
    ::unlink(temporary.c_str());
    fail(path, ": write error on close (", std::strerror(errno), ")");
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    fail(path, ": cannot rename ", temporary, " into place (", std::strerror(error), ")");
  }
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  sync_directory(parent.empty() ? "." : parent.string());
}

void write_file_atomically(const std::string& path, const std::string& text) {
  write_file_atomically(path, {ByteSpan{text.data(), text.size()}});
}

}  // namespace myelin
