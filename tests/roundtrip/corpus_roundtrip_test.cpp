// Round trips on slices of every folder of ../shared/corpus at several
// levels and thread counts. Skips (and says so) where the corpus is absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "engine/decoder.h"
#include "engine/encoder.h"

namespace sibyl {
namespace {

namespace fs = std::filesystem;
constexpr size_t kSlice = 96 * 1024;

std::vector<fs::path> corpus_files(const std::string& folder) {
  std::vector<fs::path> files;
  const fs::path dir = fs::path(SIBYL_CORPUS_DIR) / folder;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file()) continue;
    const std::string name = e.path().filename().string();
    if (name == "MANIFEST.md" || name.ends_with(".sh") || name.ends_with(".py")) continue;
    files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<uint8_t> read_slice(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  f.seekg(0, std::ios::end);
  const auto size = static_cast<size_t>(f.tellg());
  const size_t start = size > kSlice ? (size - kSlice) / 2 : 0;
  std::vector<uint8_t> v(std::min(size, kSlice));
  f.seekg(static_cast<std::streamoff>(start));
  f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size()));
  return v;
}

class CorpusRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(CorpusRoundTrip, SlicesAtSeveralLevelsAndThreadCounts) {
  const auto files = corpus_files(GetParam());
  if (files.empty()) GTEST_SKIP() << "corpus folder " << GetParam() << " not found under " << SIBYL_CORPUS_DIR;
  size_t raw = 0, packed = 0;
  for (const auto& path : files) {
    const auto in = read_slice(path);
    for (int level : {1, 6, 9}) {
      EncodeOptions o;
      o.level = level;
      o.block_log = 15;  // several blocks per slice, so -T 2 has work to share
      std::vector<uint8_t> z1, z2, back;
      o.threads = 1;
      ASSERT_TRUE(compress_buffer(in, o, z1).ok());
      o.threads = 2;
      ASSERT_TRUE(compress_buffer(in, o, z2).ok());
      ASSERT_EQ(z1, z2) << path << " level " << level << ": archive differs between -T1 and -T2";
      DecodeOptions d;
      d.threads = 2;
      ASSERT_TRUE(decompress_buffer(z1, d, back).ok()) << path;
      ASSERT_EQ(back, in) << path << " level " << level;
      if (level == 1) {
        raw += in.size();
        packed += z1.size();
      }
    }
  }
  // A sanity bound, not a benchmark: the model must compress real data.
  EXPECT_LT(packed, raw) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Corpus, CorpusRoundTrip, ::testing::Values("general", "image", "audio", "tensor"));

}  // namespace
}  // namespace sibyl
