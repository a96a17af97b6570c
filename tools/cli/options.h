// Command-line options of the sibyl program (xz/zstd conventions).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sibyl::cli {

enum class Mode { kCompress, kDecompress, kTest, kList, kBench };

struct Options {
  Mode mode = Mode::kCompress;
  int level = 0;  // 0 = default
  int threads = 1;
  bool to_stdout = false;
  std::string output;  // -o
  bool has_output = false;
  bool keep = true;
  bool force = false;
  bool verify = false;
  int verbosity = 1;  // 0 quiet, 1 normal, 2+ verbose
  uint64_t memlimit = 0;  // 0 = default
  bool recursive = false;  // -r: walk directories given as operands
  bool json = false;       // --json: -l prints JSON
  int bench_end = 0;       // -e: last level of -b (0 = only the start level)
  // --type: what the data is (0 auto, 1 bytes, 2 text, 3 audio, 4 image, 5 tensor: the C API's sibyl_type).
  int type = 0;
  int dtype = 0;          // --dtype: raw array element type (sibyl_x_dtype), implies --type tensor
  uint64_t row = 0;       // --shape: elements per row (the last dimension); 0 = not given
  uint64_t tokens = 0;    // --shape with 3+ dimensions: the second-last (tokens of a KV cache)
  uint64_t layer = 0;     // and the elements per first-axis slice (a KV cache's layer)
  bool kv = false;        // --kv: tensors of 3+ dimensions are KV caches
  int sample = 0;         // --sample: raw PCM sample format (sibyl_x_sample), implies --type audio
  uint64_t channels = 0;  // --channels (0 = not given: 1)
  uint64_t rate = 0;      // --rate (checked, not used by the coding)
  uint64_t width = 0;     // --width: a raw image (implies --type image); 0 = not given
  uint64_t height = 0;    // --height (0 = not given: every row the input holds)
  int depth = 0;          // --depth 8 or 16 (0 = not given: 8)
  int error_mode = 0;     // --error: 0 lossless, 1 abs:E, 2 rel:E (sibyl_cstream_set_error_bound)
  double error_bound = 0;
  int vq_dim = 0, vq_stages = 0, vq_k = 0;  // --vq D:S[:K] (sibyl_cstream_set_vq); 0 = off
  std::string prior;        // --prior FILE: a trained prior (sibyl train)
  int64_t record = -1;      // --record N (with -d): write only record N
  bool adapt = false;       // --adapt: with --prior, the collection regime
  bool png_pixels = false;  // --png-pixels: PNG files as their pixels (a PNG with the same pixels comes back)
  std::vector<std::string> files;
  bool show_help = false;
  bool show_version = false;
};

// Parses argv; on error returns false and sets *error to a one-line message.
bool parse_options(int argc, char** argv, Options* opt, std::string* error);

// "512M", "2GiB", "1000000" -> bytes; false if malformed.
bool parse_size(const std::string& text, uint64_t* bytes);

const char* help_text();

// `sibyl train ...` (argv[1] == "train").
struct TrainArgs {
  std::string type;  // --type (only "pc")
  uint32_t latent = 32;
  uint32_t epochs = 0;  // 0 = the default
  int threads = 0;      // 0 = one per core
  std::string output;
  std::vector<std::string> inputs;
  int verbosity = 1;
  bool force = false;
  bool no_mixing = false;  // --no-mixing: the circuit alone
  bool show_help = false;
};
bool parse_train_options(int argc, char** argv, TrainArgs* t, std::string* error);
const char* train_help_text();

}  // namespace sibyl::cli
