// A preloaded library for the kill test: it counts the calls that change files (writes to files,
// fsync, rename, symlink, unlink, mkdir, truncate) and kills the process with SIGKILL at the N-th,
// as a power cut or `kill -9` would at that instant.
//   MYELIN_KILL_AT=N      kill at the N-th call (counted from 1): before a rename, unlink and the
//                         like; halfway through a write, which writes half its bytes first.
//   MYELIN_KILL_COUNT=F   write the number of calls made to file F at exit (to list the points).
// Writes to standard output and error are not counted: their number depends on the figures a run
// prints, the file changes' number does not.
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace {

long g_calls = 0;
long g_kill_at = -1;
bool g_ready = false;

void read_settings() {
  if (g_ready) return;
  g_ready = true;
  const char* at = std::getenv("MYELIN_KILL_AT");
  if (at != nullptr) g_kill_at = std::atol(at);
}

// Counts one call; true when it is the one to die at.
bool kill_here() {
  read_settings();
  return ++g_calls == g_kill_at;
}

void die() {
  raise(SIGKILL);
}

template <typename F>
F next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

__attribute__((destructor)) void report_count() {
  const char* file = std::getenv("MYELIN_KILL_COUNT");
  if (file == nullptr) return;
  g_kill_at = -1;  // the report's own write is not a kill point
  if (FILE* f = std::fopen(file, "w")) {
    std::fprintf(f, "%ld\n", g_calls);
    std::fclose(f);
  }
}

}  // namespace

extern "C" {

ssize_t write(int fd, const void* data, size_t size) {
  static auto real = next<ssize_t (*)(int, const void*, size_t)>("write");
  if (fd > 2 && kill_here()) {
    real(fd, data, size / 2);
    die();
  }
  return real(fd, data, size);
}

ssize_t writev(int fd, const struct iovec* iov, int count) {
  static auto real = next<ssize_t (*)(int, const struct iovec*, int)>("writev");
  if (fd > 2 && kill_here()) {
    if (count > 0) {
      static auto real_write = next<ssize_t (*)(int, const void*, size_t)>("write");
      real_write(fd, iov[0].iov_base, iov[0].iov_len / 2);
    }
    die();
  }
  return real(fd, iov, count);
}

ssize_t pwrite(int fd, const void* data, size_t size, off_t offset) {
  static auto real = next<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite");
  if (fd > 2 && kill_here()) {
    real(fd, data, size / 2, offset);
    die();
  }
  return real(fd, data, size, offset);
}

#define MYELIN_KILL_POINT(ret, name, params, args) \
  ret name params {                                \
    static auto real = next<ret(*) params>(#name); \
    if (kill_here()) die();                        \
    return real args;                              \
  }

MYELIN_KILL_POINT(int, fsync, (int fd), (fd))
MYELIN_KILL_POINT(int, fdatasync, (int fd), (fd))
MYELIN_KILL_POINT(int, rename, (const char* from, const char* to), (from, to))
MYELIN_KILL_POINT(int, renameat, (int a, const char* from, int b, const char* to), (a, from, b, to))
MYELIN_KILL_POINT(int, renameat2,
                  (int a, const char* from, int b, const char* to, unsigned int flags),
                  (a, from, b, to, flags))
MYELIN_KILL_POINT(int, symlink, (const char* target, const char* path), (target, path))
MYELIN_KILL_POINT(int, symlinkat, (const char* target, int dir, const char* path),
                  (target, dir, path))
MYELIN_KILL_POINT(int, unlink, (const char* path), (path))
MYELIN_KILL_POINT(int, unlinkat, (int dir, const char* path, int flags), (dir, path, flags))
MYELIN_KILL_POINT(int, rmdir, (const char* path), (path))
MYELIN_KILL_POINT(int, remove, (const char* path), (path))
MYELIN_KILL_POINT(int, mkdir, (const char* path, mode_t mode), (path, mode))
MYELIN_KILL_POINT(int, mkdirat, (int dir, const char* path, mode_t mode), (dir, path, mode))
MYELIN_KILL_POINT(int, truncate, (const char* path, off_t size), (path, size))
MYELIN_KILL_POINT(int, ftruncate, (int fd, off_t size), (fd, size))

}  // extern "C"
