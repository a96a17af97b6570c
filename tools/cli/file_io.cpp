#include "file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <vector>

namespace sibyl::cli {
namespace {

// The pending temporary file, for the signal handler (async-signal-safe:
// a fixed buffer read by unlink()).
char g_temp_path[4096];
volatile sig_atomic_t g_temp_set = 0;

extern "C" void on_signal(int sig) {
  if (g_temp_set) unlink(g_temp_path);
  signal(sig, SIG_DFL);
  raise(sig);
}

void set_pending(const std::string& p) {
  g_temp_set = 0;
  if (p.size() < sizeof g_temp_path) {
    std::memcpy(g_temp_path, p.c_str(), p.size() + 1);
    g_temp_set = 1;
  }
}
void clear_pending() { g_temp_set = 0; }

}  // namespace

void install_signal_cleanup() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    // A signal the caller ignores (nohup, background jobs) stays ignored.
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    sigaction(sig, &sa, nullptr);
  }
}

std::string errno_text(int err) { return std::strerror(err); }

Status FdSource::read(uint8_t* buf, size_t n, size_t* got) {
  size_t total = 0;
  while (total < n) {
    const ssize_t r = ::read(fd_, buf + total, n - total);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Error(ErrorCode::kIo, "read error: " + errno_text(errno));
    }
    if (r == 0) break;
    total += static_cast<size_t>(r);
  }
  *got = total;
  return Status::Ok();
}

Status FdRandomAccess::read_at(uint64_t offset, uint8_t* buf, size_t n) {
  size_t total = 0;
  while (total < n) {
    const ssize_t r = ::pread(fd_, buf + total, n - total, static_cast<off_t>(offset + total));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Error(ErrorCode::kIo, "read error: " + errno_text(errno));
    }
    if (r == 0) return Error(ErrorCode::kTruncated, "file ended while reading (was it changed?)");
    total += static_cast<size_t>(r);
  }
  return Status::Ok();
}

Status write_all(int fd, const uint8_t* data, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Error(ErrorCode::kIo, "write error: " + errno_text(errno));
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

TempOutput::~TempOutput() { discard(); }

void TempOutput::discard() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!temp_.empty()) {
    ::unlink(temp_.c_str());
    clear_pending();
    temp_.clear();
  }
}

Status TempOutput::open(const std::string& path) {
  path_ = path;
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string tmpl = dir + "." + base + ".XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  // Block the cleanup signals while the name is registered, so a signal
  // never sees a created but unregistered file.
  sigset_t block, old;
  sigemptyset(&block);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&block, sig);
  sigprocmask(SIG_BLOCK, &block, &old);
  fd_ = mkostemp(buf.data(), O_CLOEXEC);
  const int err = errno;
  if (fd_ >= 0) {
    temp_ = buf.data();
    set_pending(temp_);
  }
  sigprocmask(SIG_SETMASK, &old, nullptr);
  if (fd_ < 0) return Error(ErrorCode::kIo, "cannot create output file: " + errno_text(err));
  return Status::Ok();
}

Status TempOutput::commit(const struct stat* like, bool overwrite) {
  if (like != nullptr) {
    if (fchmod(fd_, like->st_mode & 0777) != 0) {
      // Not fatal (e.g. filesystems without modes), as with xz.
    }
    struct timespec times[2] = {like->st_atim, like->st_mtim};
    futimens(fd_, times);
  }
  if (::close(fd_) != 0) {
    fd_ = -1;
    return Error(ErrorCode::kIo, "write error: " + errno_text(errno));
  }
  fd_ = -1;
  int rc;
  if (overwrite) {
    rc = ::rename(temp_.c_str(), path_.c_str());
  } else {
    rc = ::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
      // Filesystem without RENAME_NOREPLACE: link() also refuses to replace.
      rc = ::link(temp_.c_str(), path_.c_str());
      if (rc == 0) ::unlink(temp_.c_str());
    }
  }
  if (rc != 0) {
    const int err = errno;
    if (err == EEXIST) return Error(ErrorCode::kIo, "output file exists (use -f to overwrite)");
    return Error(ErrorCode::kIo, "cannot rename output file: " + errno_text(err));
  }
  clear_pending();
  temp_.clear();
  return Status::Ok();
}

}  // namespace sibyl::cli
