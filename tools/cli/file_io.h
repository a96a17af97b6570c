// File handling of the CLI: descriptors that report errors as Status, a
// temporary output file that is renamed into place only on success and
// removed on failure or on SIGINT/SIGTERM/SIGHUP.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>

#include "common/status.h"
#include "engine/decoder.h"
#include "engine/listing.h"

namespace sibyl::cli {

// Installs the signal handlers that remove the pending temporary file.
void install_signal_cleanup();

std::string errno_text(int err);

// Reads from a descriptor (not owned).
class FdSource : public ByteSource {
 public:
  explicit FdSource(int fd) : fd_(fd) {}
  Status read(uint8_t* buf, size_t n, size_t* got) override;

 private:
  int fd_;
};

class FdRandomAccess : public RandomAccessSource {
 public:
  FdRandomAccess(int fd, uint64_t size) : fd_(fd), size_(size) {}
  uint64_t size() const override { return size_; }
  Status read_at(uint64_t offset, uint8_t* buf, size_t n) override;

 private:
  int fd_;
  uint64_t size_;
};

Status write_all(int fd, const uint8_t* data, size_t n);

// Output written to "<dir>/.<name>.XXXXXX" and renamed to `path` by commit().
// The destructor removes the temporary file unless commit() succeeded.
class TempOutput {
 public:
  TempOutput() = default;
  ~TempOutput();
  TempOutput(const TempOutput&) = delete;
  TempOutput& operator=(const TempOutput&) = delete;

  Status open(const std::string& path);
  int fd() const { return fd_; }
  // Copies mode and times of `like` (if given), closes, and renames the file
  // to its final name; without `overwrite` an existing file is never replaced.
  Status commit(const struct stat* like, bool overwrite);
  void discard();

 private:
  std::string path_;
  std::string temp_;
  int fd_ = -1;
};

}  // namespace sibyl::cli
