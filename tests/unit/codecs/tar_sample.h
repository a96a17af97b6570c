// A ustar archive of given members, for tests of the tar walker.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace sibyl::test {

// A ustar archive of the given members (name, data), as tar writes it.
inline std::vector<uint8_t> make_tar(const std::vector<std::pair<std::string, std::vector<uint8_t>>>& members) {
  std::vector<uint8_t> t;
  for (const auto& [name, data] : members) {
    uint8_t h[512] = {};
    std::memcpy(h, name.data(), std::min<size_t>(name.size(), 99));
    std::snprintf(reinterpret_cast<char*>(h + 100), 8, "%07o", 0644);
    std::snprintf(reinterpret_cast<char*>(h + 108), 8, "%07o", 0);
    std::snprintf(reinterpret_cast<char*>(h + 116), 8, "%07o", 0);
    std::snprintf(reinterpret_cast<char*>(h + 124), 12, "%011o", static_cast<unsigned>(data.size()));
    std::snprintf(reinterpret_cast<char*>(h + 136), 12, "%011o", 1700000000u);
    h[156] = '0';
    std::memcpy(h + 257, "ustar\0" "00", 8);
    std::memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (uint8_t b : h) sum += b;
    std::snprintf(reinterpret_cast<char*>(h + 148), 8, "%06o", sum);
    t.insert(t.end(), h, h + 512);
    t.insert(t.end(), data.begin(), data.end());
    t.resize((t.size() + 511) / 512 * 512, 0);
  }
  t.resize(t.size() + 1024, 0);
  return t;
}

}  // namespace sibyl::test
