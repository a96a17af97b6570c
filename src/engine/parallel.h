// Runs n independent jobs on up to `threads` threads (the calling thread
// included) and waits for all of them. Jobs write only their own results,
// so the outcome never depends on the thread count. Jobs must not throw.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <thread>
#include <vector>

namespace sibyl {

inline void run_parallel(size_t n, int threads, const std::function<void(size_t)>& job) {
  if (n == 0) return;
  const size_t workers = threads < 1 ? 1 : (static_cast<size_t>(threads) < n ? static_cast<size_t>(threads) : n);
  if (workers == 1) {
    for (size_t i = 0; i < n; ++i) job(i);
    return;
  }
  std::atomic<size_t> next{0};
  auto loop = [&] {
    for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) job(i);
  };
  std::vector<std::thread> pool;
  try {
    pool.reserve(workers - 1);
    for (size_t t = 1; t < workers; ++t) pool.emplace_back(loop);
  } catch (...) {
    // No more threads (resource limits): the threads that started and this
    // one take the remaining jobs; the result is the same.
  }
  loop();
  for (auto& th : pool) th.join();
}

}  // namespace sibyl
