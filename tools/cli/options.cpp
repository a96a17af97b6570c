#include "options.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <thread>

#include "codecs/image/image_codec.h"
#include "codecs/levels.h"
#include "codecs/tensor/tensor_layout.h"

namespace sibyl::cli {

bool parse_size(const std::string& text, uint64_t* bytes) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) return false;
  size_t i = 0;
  uint64_t v = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + static_cast<uint64_t>(text[i] - '0');
    ++i;
  }
  std::string unit = text.substr(i);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  int shift = 0;
  if (unit.empty() || unit == "B") shift = 0;
  else if (unit == "K" || unit == "KB" || unit == "KIB") shift = 10;
  else if (unit == "M" || unit == "MB" || unit == "MIB") shift = 20;
  else if (unit == "G" || unit == "GB" || unit == "GIB") shift = 30;
  else if (unit == "T" || unit == "TB" || unit == "TIB") shift = 40;
  else return false;
  if (shift > 0 && v > (UINT64_MAX >> shift)) return false;
  *bytes = v << shift;
  return true;
}

namespace {

bool parse_int(const std::string& s, int lo, int hi, int* out) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  const int v = std::atoi(s.c_str());
  if (v < lo || v > hi) return false;
  *out = v;
  return true;
}

bool set_threads(const std::string& s, Options* opt, std::string* error) {
  int t = 0;
  if (!parse_int(s, 0, 256, &t)) {
    *error = "invalid thread count '" + s + "' (0 to 256; 0 = one per core)";
    return false;
  }
  if (t == 0) t = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  opt->threads = t;
  return true;
}

bool set_level(const std::string& s, int* level, std::string* error) {
  if (!parse_int(s, kMinLevel, kMaxLevel, level)) {
    *error = "invalid level '" + s + "' (1 to 9)";
    return false;
  }
  return true;
}

bool set_memlimit(const std::string& s, Options* opt, std::string* error) {
  uint64_t v = 0;
  if (!parse_size(s, &v) || v == 0) {
    *error = "invalid memory limit '" + s + "' (e.g. 512M, 2G)";
    return false;
  }
  opt->memlimit = v;
  return true;
}

// --type NAME: the C API's sibyl_type values.
bool set_type(const std::string& s, Options* opt, std::string* error) {
  static const struct {
    const char* name;
    int value;
  } kTypes[] = {{"auto", 0}, {"bytes", 1}, {"text", 2}, {"audio", 3}, {"image", 4}, {"tensor", 5}};
  for (const auto& t : kTypes) {
    if (s == t.name) {
      opt->type = t.value;
      return true;
    }
  }
  *error = "unknown data type '" + s + "' (auto, bytes, text, audio, image, tensor)";
  return false;
}

// --dtype NAME: the C API's sibyl_x_dtype values (the codec's element types).
bool set_dtype(const std::string& s, Options* opt, std::string* error) {
  tensor::DType t;
  if (tensor::parse_dtype_name(s, &t)) {
    opt->dtype = static_cast<int>(t);
    return true;
  }
  *error = "unknown element type '" + s + "' (f32, f16, bf16, f64, i8, u8, i16, u16, i32, u32)";
  return false;
}

// --sample NAME: the C API's sibyl_x_sample values (audio::Sample).
bool set_sample(const std::string& s, Options* opt, std::string* error) {
  audio::Sample t;
  if (audio::parse_sample_name(s, &t)) {
    opt->sample = static_cast<int>(t);
    return true;
  }
  *error = "unknown sample format '" + s + "' (u8, s8, s16le, s24le, s32le, f32le)";
  return false;
}

// --channels N, --rate R: positive integers.
bool set_count(const std::string& s, const char* what, uint64_t max, uint64_t* out, std::string* error) {
  if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos || std::stoull(s) == 0 ||
      std::stoull(s) > max) {
    *error = std::string("invalid ") + what + " '" + s + "' (1 to " + std::to_string(max) + ")";
    return false;
  }
  *out = std::stoull(s);
  return true;
}

// --shape D1,D2,...: only the last dimension (the row) matters to the model.
bool set_shape(const std::string& s, Options* opt, std::string* error) {
  uint64_t last = 0;
  std::vector<uint64_t> dims;
  size_t start = 0;
  while (true) {
    const size_t comma = s.find(',', start);
    const std::string d = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    uint64_t v = 0;
    if (d.empty() || d.size() > 15 || d.find_first_not_of("0123456789") != std::string::npos ||
        (v = std::stoull(d)) == 0 || v > (uint64_t(1) << 48)) {
      *error = "invalid shape '" + s + "' (dimensions > 0 separated by commas, e.g. 904,368)";
      return false;
    }
    last = v;
    dims.push_back(v);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  opt->row = last;
  // A KV cache's structure (used with --kv): tokens are the second-last
  // axis, a layer everything after the first.
  opt->tokens = opt->layer = 0;
  if (dims.size() >= 3) {
    uint64_t layer = 1;
    for (size_t i = 1; i < dims.size(); ++i) {
      if (layer > (uint64_t(1) << 48) / dims[i]) {
        *error = "invalid shape '" + s + "' (too many elements)";
        return false;
      }
      layer *= dims[i];
    }
    opt->tokens = dims[dims.size() - 2];
    opt->layer = layer;
  }
  return true;
}

// --error abs:E | rel:E: lossy coding of float tensors within E.
bool set_error(const std::string& s, Options* opt, std::string* error) {
  const size_t colon = s.find(':');
  const std::string kind = s.substr(0, colon == std::string::npos ? 0 : colon);
  const std::string num = colon == std::string::npos ? "" : s.substr(colon + 1);
  char* end = nullptr;
  const double v = num.empty() ? 0 : std::strtod(num.c_str(), &end);
  if ((kind != "abs" && kind != "rel") || num.empty() || end == nullptr || *end != '\0' || !(v > 0 && v < 1e300)) {
    *error = "invalid error bound '" + s + "' (abs:E or rel:E with E > 0, e.g. rel:1e-3)";
    return false;
  }
  opt->error_mode = kind == "abs" ? 1 : 2;
  opt->error_bound = v;
  return true;
}

// --vq D:S[:K]: residual vector quantisation of float tensors.
bool set_vq(const std::string& s, Options* opt, std::string* error) {
  int v[3] = {0, 0, 256};
  int n = 0;
  size_t start = 0;
  bool ok = true;
  while (ok) {
    const size_t colon = s.find(':', start);
    const std::string d = s.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    ok = n < 3 && !d.empty() && d.size() <= 5 && d.find_first_not_of("0123456789") == std::string::npos;
    if (ok) v[n++] = std::atoi(d.c_str());
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  ok = ok && n >= 2 && v[0] >= 1 && v[0] <= 64 && v[1] >= 1 && v[1] <= 4 && v[2] >= 2 && v[2] <= 1024 &&
       v[0] * v[1] * v[2] <= 65536;
  if (!ok) {
    *error = "invalid vector quantisation '" + s +
             "' (DIM:STAGES[:CODEBOOK], DIM 1-64, STAGES 1-4, CODEBOOK 2-1024 (default 256), "
             "DIM x STAGES x CODEBOOK at most 65536; e.g. 8:2)";
    return false;
  }
  opt->vq_dim = v[0];
  opt->vq_stages = v[1];
  opt->vq_k = v[2];
  return true;
}

}  // namespace

bool parse_options(int argc, char** argv, Options* opt, std::string* error) {
  bool only_files = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (only_files || a == "-" || a.empty() || a[0] != '-') {
      opt->files.push_back(a);
      continue;
    }
    if (a == "--") {
      only_files = true;
      continue;
    }
    if (a[1] == '-') {
      std::string name = a.substr(2), value;
      const size_t eq = name.find('=');
      const bool has_value = eq != std::string::npos;
      if (has_value) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      auto need_value = [&]() -> bool {
        if (has_value) return true;
        if (i + 1 >= argc) {
          *error = "option '--" + name + "' needs a value";
          return false;
        }
        value = argv[++i];
        return true;
      };
      auto no_value = [&]() -> bool {
        if (has_value) *error = "option '--" + name + "' takes no value";
        return !has_value;
      };
      if (name == "compress") { if (!no_value()) return false; opt->mode = Mode::kCompress; }
      else if (name == "decompress" || name == "uncompress") { if (!no_value()) return false; opt->mode = Mode::kDecompress; }
      else if (name == "test") { if (!no_value()) return false; opt->mode = Mode::kTest; }
      else if (name == "list") { if (!no_value()) return false; opt->mode = Mode::kList; }
      else if (name == "bench") { if (!no_value()) return false; opt->mode = Mode::kBench; }
      else if (name == "recursive") { if (!no_value()) return false; opt->recursive = true; }
      else if (name == "json") { if (!no_value()) return false; opt->json = true; }
      else if (name == "bench-end") { if (!need_value() || !set_level(value, &opt->bench_end, error)) return false; }
      else if (name == "stdout" || name == "to-stdout") { if (!no_value()) return false; opt->to_stdout = true; }
      else if (name == "keep") { if (!no_value()) return false; opt->keep = true; }
      else if (name == "rm") { if (!no_value()) return false; opt->keep = false; }
      else if (name == "force") { if (!no_value()) return false; opt->force = true; }
      else if (name == "verify") { if (!no_value()) return false; opt->verify = true; }
      else if (name == "kv") { if (!no_value()) return false; opt->kv = true; }
      else if (name == "adapt") { if (!no_value()) return false; opt->adapt = true; }
      else if (name == "png-pixels") { if (!no_value()) return false; opt->png_pixels = true; }
      else if (name == "verbose") { if (!no_value()) return false; ++opt->verbosity; }
      else if (name == "quiet") { if (!no_value()) return false; opt->verbosity = 0; }
      else if (name == "help") { if (!no_value()) return false; opt->show_help = true; }
      else if (name == "version") { if (!no_value()) return false; opt->show_version = true; }
      else if (name == "fast") { if (!no_value()) return false; opt->level = kMinLevel; }
      else if (name == "best") { if (!no_value()) return false; opt->level = kMaxLevel; }
      else if (name == "threads") { if (!need_value() || !set_threads(value, opt, error)) return false; }
      else if (name == "memlimit" || name == "memory") { if (!need_value() || !set_memlimit(value, opt, error)) return false; }
      else if (name == "type") { if (!need_value() || !set_type(value, opt, error)) return false; }
      else if (name == "dtype") { if (!need_value() || !set_dtype(value, opt, error)) return false; }
      else if (name == "sample") { if (!need_value() || !set_sample(value, opt, error)) return false; }
      else if (name == "channels") {
        if (!need_value() || !set_count(value, "channel count", audio::kMaxChannels, &opt->channels, error)) return false;
      } else if (name == "width") {
        if (!need_value() || !set_count(value, "image width", image::kMaxRowSamples, &opt->width, error)) return false;
      } else if (name == "height") {
        if (!need_value() || !set_count(value, "image height", uint64_t(1) << 32, &opt->height, error)) return false;
      } else if (name == "depth") {
        if (!need_value()) return false;
        if (value != "8" && value != "16") {
          *error = "invalid image depth '" + value + "' (8 or 16)";
          return false;
        }
        opt->depth = value == "8" ? 8 : 16;
      } else if (name == "rate") {
        if (!need_value() || !set_count(value, "sample rate", 4000000000u, &opt->rate, error)) return false;
      }
      else if (name == "shape") { if (!need_value() || !set_shape(value, opt, error)) return false; }
      else if (name == "error") { if (!need_value() || !set_error(value, opt, error)) return false; }
      else if (name == "vq") { if (!need_value() || !set_vq(value, opt, error)) return false; }
      else if (name == "prior") {
        if (!need_value()) return false;
        if (value.empty()) {
          *error = "--prior needs a file name";
          return false;
        }
        opt->prior = value;
      } else if (name == "record") {
        if (!need_value()) return false;
        if (value.empty() || value.size() > 15 || value.find_first_not_of("0123456789") != std::string::npos) {
          *error = "invalid record number '" + value + "' (0 or more)";
          return false;
        }
        opt->record = static_cast<int64_t>(std::stoull(value));
      }
      else if (name == "output") {
        if (!need_value()) return false;
        opt->output = value;
        opt->has_output = true;
      } else {
        *error = "unknown option '" + a + "' (try --help)";
        return false;
      }
      if (!error->empty()) return false;
      continue;
    }
    // Clustered short options: -dc, -9, -T2, -T 2, -o FILE, -oFILE.
    for (size_t j = 1; j < a.size(); ++j) {
      const char c = a[j];
      auto take_value = [&](std::string* value) -> bool {
        if (j + 1 < a.size()) {
          *value = a.substr(j + 1);
        } else if (i + 1 < argc) {
          *value = argv[++i];
        } else {
          *error = std::string("option '-") + c + "' needs a value";
          return false;
        }
        j = a.size();
        return true;
      };
      std::string value;
      switch (c) {
        case 'z': opt->mode = Mode::kCompress; break;
        case 'd': opt->mode = Mode::kDecompress; break;
        case 't': opt->mode = Mode::kTest; break;
        case 'l': opt->mode = Mode::kList; break;
        case 'b': opt->mode = Mode::kBench; break;
        case 'r': opt->recursive = true; break;
        case 'e':
          if (!take_value(&value) || !set_level(value, &opt->bench_end, error)) return false;
          break;
        case 'c': opt->to_stdout = true; break;
        case 'k': opt->keep = true; break;
        case 'f': opt->force = true; break;
        case 'v': ++opt->verbosity; break;
        case 'q': opt->verbosity = 0; break;
        case 'h': opt->show_help = true; break;
        case 'V': opt->show_version = true; break;
        case 'T':
          if (!take_value(&value) || !set_threads(value, opt, error)) return false;
          break;
        case 'M':
          if (!take_value(&value) || !set_memlimit(value, opt, error)) return false;
          break;
        case 'o':
          if (!take_value(&value)) return false;
          opt->output = value;
          opt->has_output = true;
          break;
        default:
          if (c >= '1' && c <= '9') {
            opt->level = c - '0';
            break;
          }
          *error = std::string("unknown option '-") + c + "' (try --help)";
          return false;
      }
    }
  }
  if (opt->row != 0 && opt->dtype == 0) {
    *error = "--shape needs --dtype";
    return false;
  }
  if (opt->vq_dim != 0 && opt->error_mode != 0) {
    *error = "--vq and --error are two lossy modes: give one";
    return false;
  }
  if ((opt->height != 0 || opt->depth != 0) && opt->width == 0) {
    *error = "--height and --depth describe a raw image: they need --width";
    return false;
  }
  if (opt->width != 0) {
    if (opt->type != 0 && opt->type != 4) {
      *error = "--width describes an image: it goes with --type image";
      return false;
    }
    if (opt->sample != 0 || opt->dtype != 0 || opt->rate != 0) {
      *error = "--width (image) and --sample, --rate or --dtype describe different data: give one";
      return false;
    }
    if (opt->channels > image::kMaxChannels) {
      *error = "invalid image channel count '" + std::to_string(opt->channels) + "' (1 to 4)";
      return false;
    }
  } else if ((opt->channels != 0 || opt->rate != 0) && opt->sample == 0) {
    *error = "--channels and --rate describe raw audio (with --sample) or a raw image (with --width)";
    return false;
  }
  if (opt->sample != 0 && opt->type != 0 && opt->type != 3) {
    *error = "--sample describes audio: it goes with --type audio";
    return false;
  }
  if (opt->sample != 0 && opt->dtype != 0) {
    *error = "--sample (audio) and --dtype (tensor) describe different data: give one";
    return false;
  }
  if (opt->dtype != 0 && opt->type != 0 && opt->type != 5) {
    *error = "--dtype describes numbers: it goes with --type tensor";
    return false;
  }
  if (opt->record >= 0 && (opt->mode != Mode::kDecompress || opt->prior.empty())) {
    *error = "--record N goes with -d and --prior";
    return false;
  }
  if (opt->adapt && (opt->prior.empty() || opt->mode != Mode::kCompress)) {
    *error = "--adapt goes with compression and --prior";
    return false;
  }
  if (opt->png_pixels && opt->mode != Mode::kCompress) {
    *error = "--png-pixels goes with compression (-d restores a PNG by itself)";
    return false;
  }
  if (opt->png_pixels && (!opt->prior.empty() || opt->width != 0 || opt->sample != 0 || opt->dtype != 0)) {
    *error = "--png-pixels reads PNG files: it does not go with --prior, --width, --sample or --dtype";
    return false;
  }
  if (!opt->prior.empty() && (opt->mode == Mode::kList || opt->mode == Mode::kBench)) {
    *error = "--prior goes with compression, -d or -t";
    return false;
  }
  return true;
}

bool parse_train_options(int argc, char** argv, TrainArgs* t, std::string* error) {
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i], value;
    if (a.empty() || a[0] != '-' || a == "-") {
      t->inputs.push_back(a);
      continue;
    }
    std::string name = a;
    const size_t eq = a.find('=');
    const bool has_value = eq != std::string::npos && a.rfind("--", 0) == 0;
    if (has_value) name = a.substr(0, eq), value = a.substr(eq + 1);
    auto need = [&]() {
      if (has_value) return true;
      if (i + 1 >= argc) {
        *error = "option '" + name + "' needs a value";
        return false;
      }
      value = argv[++i];
      return true;
    };
    auto number = [&](uint64_t lo, uint64_t hi, uint64_t* out) {
      if (!need()) return false;
      char* end = nullptr;
      errno = 0;
      const unsigned long long v = std::strtoull(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || errno != 0 || value[0] == '-' || v < lo || v > hi) {
        *error = "invalid value '" + value + "' for " + name + " (" + std::to_string(lo) + " to " + std::to_string(hi) + ")";
        return false;
      }
      *out = v;
      return true;
    };
    uint64_t v = 0;
    if (name == "--type") {
      if (!need()) return false;
      if (value != "pc") {
        *error = "train: unknown --type '" + value + "' (pc)";
        return false;
      }
      t->type = value;
    } else if (name == "--latent") {
      if (!number(1, 256, &v)) return false;
      t->latent = static_cast<uint32_t>(v);
    } else if (name == "--epochs") {
      if (!number(1, 10000, &v)) return false;
      t->epochs = static_cast<uint32_t>(v);
    } else if (name == "-T" || name == "--threads") {
      if (!number(0, 256, &v)) return false;
      t->threads = static_cast<int>(v);
    } else if (name == "-o" || name == "--output") {
      if (!need()) return false;
      t->output = value;
    } else if (name == "-f" || name == "--force") {
      t->force = true;
    } else if (name == "--no-mixing") {
      t->no_mixing = true;
    } else if (name == "-q" || name == "--quiet") {
      t->verbosity = 0;
    } else if (name == "-v" || name == "--verbose") {
      t->verbosity = 2;
    } else if (name == "-h" || name == "--help") {
      t->show_help = true;
      return true;
    } else {
      *error = "train: unknown option '" + a + "' (try sibyl train --help)";
      return false;
    }
  }
  if (t->type.empty()) {
    *error = "train: --type is required (--type pc)";
    return false;
  }
  if (t->output.empty()) {
    *error = "train: -o PRIOR is required";
    return false;
  }
  if (t->inputs.empty()) {
    *error = "train: no training files given";
    return false;
  }
  return true;
}

const char* train_help_text() {
  return "Usage: sibyl train --type pc [--latent K] [--epochs N] [-T N] -o PRIOR TRAIN...\n"
         "Learn a prior for collections of same-shape records: a probabilistic circuit\n"
         "(hidden Chow-Liu tree) over the values of a record, then a mixing model\n"
         "(pixel predictors and their maps, as --adapt learns them) over the same\n"
         "records, from which every record is coded alone.\n"
         "\n"
         "TRAIN is an IDX file (the MNIST format), an NPY uint8 array [N, ...] (either\n"
         "optionally gzipped) or a directory of same-size binary PGMs; several are\n"
         "concatenated.\n"
         "\n"
         "  --type pc        the model (the only one: a probabilistic circuit)\n"
         "  --latent K       states of each variable's latent (1-256, default 32)\n"
         "  --epochs N       passes of mini-batch EM over the data (default 8)\n"
         "  -T, --threads N  threads (0 = one per core, the default); the prior is\n"
         "                   byte-identical for every N\n"
         "  -o FILE          write the prior to FILE\n"
         "  -f, --force      overwrite FILE\n"
         "  --no-mixing      the circuit alone (prior file version 1)\n"
         "  -q               no progress lines\n"
         "\n"
         "Then: sibyl --prior PRIOR -c FILE > FILE.sby; sibyl -d --prior PRIOR -c FILE.sby\n"
         "(--record N with -d writes record N alone).\n";
}

const char* help_text() {
  return "Usage: sibyl [OPTION]... [FILE]...\n"
         "Compress or decompress FILEs with context-mixing models (FILE.sby).\n"
         "With no FILE, or when FILE is -, read standard input and write standard output.\n"
         "\n"
         "Operation:\n"
         "  -z, --compress      compress (default)\n"
         "  -d, --decompress    decompress\n"
         "  -t, --test          decompress and verify checksums, write nothing\n"
         "  -l, --list          list the frames and blocks of archives (reads only their index);\n"
         "                      with -v per frame and block, with --json as JSON\n"
         "  -b, --bench         benchmark FILEs in memory: ratio and speed at the level\n"
         "                      (or from it to the level given by -e), round trip checked\n"
         "\n"
         "Options:\n"
         "  -1 .. -9            compression level (default 6); --fast = -1, --best = -9\n"
         "  -c, --stdout        write to standard output, keep input files\n"
         "  -o, --output=FILE   write to FILE (one input only; - = standard output)\n"
         "  -k, --keep          keep input files (default)\n"
         "      --rm            remove input files after success\n"
         "  -f, --force         overwrite existing output, write compressed data to a terminal\n"
         "  -r, --recursive     operate on every regular file under the directories given\n"
         "                      (compression skips *.sby, decompression takes only *.sby)\n"
         "  -T, --threads=N     compress/decompress N blocks in parallel (0 = one per core);\n"
         "                      the archive is byte-identical for every N\n"
         "  -M, --memlimit=SIZE refuse to decompress archives needing more memory (default 4G)\n"
         "      --verify        decode every block after compressing it, before writing it\n"
         "      --type=TYPE     what the data is: auto (default: WAV, PGM/PPM/PAM, NPY and\n"
         "                      safetensors files are found from their content), bytes, text,\n"
         "                      audio, image or tensor\n"
         "      --sample=F      the input is raw interleaved PCM of F (u8 s8 s16le s24le s32le\n"
         "                      f32le); implies --type audio\n"
         "      --channels=N    its channels per frame (default 1); with --width, per pixel (1-4)\n"
         "      --rate=R        its sample rate (accepted; the coding does not depend on it)\n"
         "      --width=W       the input is a raw image W pixels wide (rows of W pixels of\n"
         "                      --channels samples); implies --type image\n"
         "      --height=H      its rows (default: as many as the input holds)\n"
         "      --depth=8|16    bits per sample (default 8; 16 is little-endian)\n"
         "                      (PNG is compressed data: it goes through the byte model)\n"
         "      --png-pixels    PNG files are decoded and their pixels coded by the image\n"
         "                      model; -d writes back a PNG with the SAME PIXELS and chunks\n"
         "                      but NOT THE SAME BYTES (new IDAT data). Off by default;\n"
         "                      other files are compressed as usual\n"
         "      --dtype=T       the input is a raw array of T (f32 f16 bf16 f64 i8 u8 i16 u16\n"
         "                      i32 u32, little-endian); implies --type tensor\n"
         "      --shape=D,...   its dimensions (the last one is the row the model follows)\n"
         "      --kv            tensors of 3+ dimensions are KV caches [layers,...,tokens,channels]:\n"
         "                      with --error, a step per layer and anchor-token prediction\n"
         "                      (safetensors tensors named like past_key_values.0.key are\n"
         "                      found without it)\n"
         "      --error=abs:E|rel:E  LOSSY: float tensors are decoded within E of each value\n"
         "                      (rel: E times the tensor's largest magnitude); other data\n"
         "                      stays exact. Off by default\n"
         "      --vq=D:S[:K]    LOSSY, no bound: float tensors as vectors of D values, each the\n"
         "                      sum of S learned centres (K per stage, default 256); the error\n"
         "                      made is printed. Off by default\n"
         "      --prior=FILE    code the records of a collection (IDX, NPY uint8, PGM, else\n"
         "                      the whole input) from a prior made by `sibyl train`; the\n"
         "                      archive needs the same prior to decompress\n"
         "      --adapt         with --prior: also learn across the records (adaptive\n"
         "                      context models mixed with the prior; smaller, and a\n"
         "                      record is decoded with those before it in its block)\n"
         "      --record=N      with -d and --prior: write only record N (from 0), decoded\n"
         "                      by itself\n"
         "  -e, --bench-end=N   last level for -b\n"
         "      --json          with -l: print the listing as JSON on standard output\n"
         "  -v, --verbose       progress and a summary on standard error; -l shows blocks\n"
         "  -q, --quiet         no messages except errors\n"
         "  -h, --help          this help\n"
         "  -V, --version       version\n"
         "\n"
         "Learning a prior: sibyl train --help\n"
         "As a tar filter: tar -I sibyl -cf x.tar.sby DIR; tar -I sibyl -xf x.tar.sby\n"
         "\n"
         "Exit status: 0 on success, 1 on any error.\n";
}

}  // namespace sibyl::cli
