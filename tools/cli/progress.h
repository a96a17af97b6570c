// Progress and summary lines on stderr (-v): bytes done, speed, ratio, ETA.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace sibyl::cli {

std::string human_bytes(uint64_t n);

class Progress {
 public:
  // total = 0 when the input size is unknown (a pipe).
  Progress(std::string name, uint64_t total, bool enabled);
  void update(uint64_t in, uint64_t out);
  // Clears the progress line; prints the summary when `summary`.
  void finish(uint64_t in, uint64_t out, bool summary, bool compressing);

 private:
  double elapsed() const;
  std::string name_;
  uint64_t total_;
  bool live_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace sibyl::cli
