#include "progress.h"

#include <unistd.h>

#include <cstdio>

namespace sibyl::cli {

std::string human_bytes(uint64_t n) {
  char buf[32];
  if (n < 1024) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  else if (n < (1u << 20)) std::snprintf(buf, sizeof buf, "%.1f KiB", n / 1024.0);
  else if (n < (1ull << 30)) std::snprintf(buf, sizeof buf, "%.1f MiB", n / 1048576.0);
  else std::snprintf(buf, sizeof buf, "%.2f GiB", n / 1073741824.0);
  return buf;
}

Progress::Progress(std::string name, uint64_t total, bool enabled)
    : name_(std::move(name)), total_(total), live_(enabled && isatty(STDERR_FILENO)) {
  start_ = last_ = std::chrono::steady_clock::now();
}

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::update(uint64_t in, uint64_t out) {
  if (!live_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(250)) return;
  last_ = now;
  const double t = elapsed();
  const double speed = t > 0 ? in / t : 0;
  char line[256];
  int n = std::snprintf(line, sizeof line, "\r%s: %s", name_.c_str(), human_bytes(in).c_str());
  if (total_ > 0) n += std::snprintf(line + n, sizeof line - n, " / %s %3.0f%%", human_bytes(total_).c_str(), 100.0 * in / total_);
  n += std::snprintf(line + n, sizeof line - n, "  %.2f MB/s", speed / 1e6);
  if (in > 0) n += std::snprintf(line + n, sizeof line - n, "  ratio %.3f", static_cast<double>(out) / in);
  if (total_ > in && speed > 0) {
    const long eta = static_cast<long>((total_ - in) / speed);
    n += std::snprintf(line + n, sizeof line - n, "  ETA %ld:%02ld", eta / 60, eta % 60);
  }
  std::snprintf(line + n, sizeof line - n, "   ");
  std::fputs(line, stderr);
  drawn_ = true;
}

void Progress::finish(uint64_t in, uint64_t out, bool summary, bool compressing) {
  if (drawn_) std::fputs("\r\033[K", stderr);
  if (!summary) return;
  const double t = elapsed();
  const uint64_t raw = compressing ? in : out;
  const uint64_t packed = compressing ? out : in;
  std::fprintf(stderr, "%s: %s -> %s (ratio %.3f), %.2f MB/s\n", name_.c_str(), human_bytes(compressing ? in : in).c_str(),
               human_bytes(compressing ? out : out).c_str(), raw ? static_cast<double>(packed) / raw : 0.0,
               t > 0 ? raw / t / 1e6 : 0.0);
}

}  // namespace sibyl::cli
