// The sibyl program: xz/zstd-style front end over the engine.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

// The program ships with the library, so it may use the experimental part.
#define SIBYL_EXPERIMENTAL 1
#include "sibyl/sibyl.h"

#include "codecs/codec.h"
#include "codecs/levels.h"
#include "codecs/pc/pc_adapt.h"
#include "codecs/pc/pc_codec.h"
#include "dataset.h"
#include "format/container.h"
#include "model/pc/hclt.h"
#include "common/simd.h"
#include "engine/listing.h"
#include "file_io.h"
#include "options.h"
#include "png_pixels.h"
#include "progress.h"

namespace sibyl::cli {
namespace {

constexpr const char* kSuffix = ".sby";
constexpr size_t kReadChunk = size_t(1) << 20;
// --png-pixels: a PNG whose pixels need more bytes than this is compressed as bytes.
constexpr uint64_t kMaxPngPixelBytes = uint64_t(4) << 30;

const char* g_program = "sibyl";

void report(const std::string& name, const std::string& message) {
  std::fprintf(stderr, "%s: %s: %s\n", g_program, name.c_str(), message.c_str());
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Where one input goes.
struct Job {
  std::string in_name;     // as given ("-" = stdin)
  std::string shown;       // for messages
  std::string out_path;    // empty = stdout (or nothing for -t)
  bool from_stdin = false;
  bool input_changed = false;  // set by run_job: never remove such an input
};

class Runner {
 public:
  explicit Runner(const Options& o) : opt_(o) {}

  int run() {
    std::vector<std::string> files;
    bool expanded_ok = expand(opt_.files, &files);
    if (opt_.files.empty()) files.push_back("-");
    if (opt_.mode == Mode::kBench) {
      bool ok = expanded_ok;
      for (const auto& f : files) ok = bench_one(f) && ok;
      return ok ? 0 : 1;
    }
    if (opt_.has_output && files.size() > 1) {
      std::fprintf(stderr, "%s: -o takes one input file, got %zu\n", g_program, files.size());
      return 1;
    }
    if (opt_.mode == Mode::kList) {
      bool ok = true;
      ListTotals totals;
      for (const auto& f : files) ok = list_one(f, &totals) && ok;
      if (opt_.json) {
        std::printf("{\"files\": [%s]}\n", json_.c_str());
      } else if (files.size() > 1 && opt_.verbosity > 0 && totals.files > 0) {
        print_list_row("total", totals.frames, totals.blocks, totals.packed, totals.raw, -1, 0);
      }
      return ok && expanded_ok ? 0 : 1;
    }
    int stdin_uses = 0;
    for (const auto& f : files) stdin_uses += f == "-";
    if (stdin_uses > 1) {
      std::fprintf(stderr, "%s: standard input can be read only once\n", g_program);
      return 1;
    }
    bool ok = expanded_ok;
    for (const auto& f : files) ok = process(f) && ok;
    return ok ? 0 : 1;
  }

 private:
  // --type, --dtype, --shape, --sample, --channels, --width, --height, --depth, --error.
  int set_data_params(sibyl_cstream* cs) const {
    int rc = sibyl_cstream_set_param(cs, SIBYL_PARAM_TYPE_HINT, opt_.type);
    if (rc == SIBYL_OK && opt_.dtype != 0) rc = sibyl_cstream_set_param(cs, SIBYL_PARAM_X_TENSOR_DTYPE, opt_.dtype);
    if (rc == SIBYL_OK && opt_.row != 0)
      rc = sibyl_cstream_set_param(cs, SIBYL_PARAM_X_TENSOR_ROW, static_cast<long long>(opt_.row));
    if (rc == SIBYL_OK && opt_.sample != 0) rc = sibyl_cstream_set_param(cs, SIBYL_PARAM_X_AUDIO_SAMPLE, opt_.sample);
    if (rc == SIBYL_OK && opt_.channels != 0 && opt_.width == 0)
      rc = sibyl_cstream_set_param(cs, SIBYL_PARAM_X_AUDIO_CHANNELS, static_cast<long long>(opt_.channels));
    if (rc == SIBYL_OK && opt_.width != 0) {
      rc = sibyl_cstream_set_param(cs, SIBYL_PARAM_X_IMAGE_WIDTH, static_cast<long long>(opt_.width));
      if (rc == SIBYL_OK && opt_.height != 0)
        rc = sibyl_cstream_set_param(cs, SIBYL_PARAM_X_IMAGE_HEIGHT, static_cast<long long>(opt_.height));
      if (rc == SIBYL_OK && opt_.channels != 0)
        rc = sibyl_cstream_set_param(cs, SIBYL_PARAM_X_IMAGE_CHANNELS, static_cast<long long>(opt_.channels));
      if (rc == SIBYL_OK && opt_.depth != 0) rc = sibyl_cstream_set_param(cs, SIBYL_PARAM_X_IMAGE_DEPTH, opt_.depth);
    }
    if (rc == SIBYL_OK && opt_.kv) rc = sibyl_cstream_set_param(cs, SIBYL_PARAM_X_TENSOR_KV, 1);
    if (rc == SIBYL_OK && opt_.kv && opt_.dtype != 0 && opt_.tokens != 0) {
      rc = sibyl_cstream_set_param(cs, SIBYL_PARAM_X_TENSOR_TOKENS, static_cast<long long>(opt_.tokens));
      if (rc == SIBYL_OK) rc = sibyl_cstream_set_param(cs, SIBYL_PARAM_X_TENSOR_LAYER, static_cast<long long>(opt_.layer));
    }
    if (rc == SIBYL_OK && opt_.error_mode != 0) rc = sibyl_cstream_set_error_bound(cs, opt_.error_mode, opt_.error_bound);
    if (rc == SIBYL_OK && opt_.vq_dim != 0) rc = sibyl_cstream_set_vq(cs, opt_.vq_dim, opt_.vq_stages, opt_.vq_k);
    return rc;
  }

  struct ListTotals {
    uint64_t frames = 0, blocks = 0, packed = 0, raw = 0, files = 0;
  };

  bool fail(const std::string& name, const std::string& msg) {
    report(name, msg);
    return false;
  }

  bool process(const std::string& name) {
    Job job;
    job.in_name = name;
    job.from_stdin = name == "-";
    job.shown = job.from_stdin ? "(stdin)" : name;
    const bool compressing = opt_.mode == Mode::kCompress;
    const bool testing = opt_.mode == Mode::kTest;
    bool to_stdout = opt_.to_stdout || (opt_.has_output && opt_.output == "-") || (job.from_stdin && !opt_.has_output);
    if (testing) to_stdout = false;

    int in_fd = STDIN_FILENO;
    struct stat st {};
    if (!job.from_stdin) {
      // Suffix rules before touching the file, as xz does.
      if (!to_stdout && !opt_.has_output && !testing) {
        if (compressing && ends_with(name, kSuffix)) return fail(job.shown, std::string("already has ") + kSuffix + " suffix, skipping");
        if (!compressing && !ends_with(name, kSuffix)) return fail(job.shown, std::string("unknown suffix (expected ") + kSuffix + "), skipping");
      }
      in_fd = ::open(name.c_str(), O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
      if (in_fd < 0) return fail(job.shown, errno_text(errno));
      if (fstat(in_fd, &st) != 0) {
        const int err = errno;
        ::close(in_fd);
        return fail(job.shown, errno_text(err));
      }
      if (S_ISDIR(st.st_mode)) {
        ::close(in_fd);
        return fail(job.shown, "is a directory, skipping");
      }
      if (!S_ISREG(st.st_mode) && !(to_stdout || testing) ) {
        ::close(in_fd);
        return fail(job.shown, "not a regular file, skipping (use -c to read it)");
      }
      // Blocking reads from here on (O_NONBLOCK only kept open() from
      // hanging on a FIFO).
      fcntl(in_fd, F_SETFL, fcntl(in_fd, F_GETFL) & ~O_NONBLOCK);
    } else {
      if (!compressing && isatty(STDIN_FILENO) && !opt_.force) return fail(job.shown, "refusing to read compressed data from a terminal");
      fstat(STDIN_FILENO, &st);
    }

    if (!testing) {
      if (to_stdout) {
        job.out_path.clear();
        if (compressing && isatty(STDOUT_FILENO) && !opt_.force) {
          if (!job.from_stdin) ::close(in_fd);
          return fail(job.shown, "refusing to write compressed data to a terminal (use -f to force)");
        }
      } else if (opt_.has_output) {
        job.out_path = opt_.output;
      } else {
        job.out_path = compressing ? name + kSuffix : name.substr(0, name.size() - 4);
      }
    }

    const bool ok = run_job(job, in_fd, st, to_stdout);
    if (!job.from_stdin) ::close(in_fd);
    if (ok && !opt_.keep && !job.from_stdin && !to_stdout && !testing && !job.input_changed) {
      if (::unlink(name.c_str()) != 0) return fail(job.shown, "cannot remove input: " + errno_text(errno));
    }
    return ok;
  }

  bool run_job(Job& job, int in_fd, const struct stat& st, bool to_stdout) {
    const bool compressing = opt_.mode == Mode::kCompress;
    const bool testing = opt_.mode == Mode::kTest;
    TempOutput temp;
    int out_fd = -1;
    if (!testing) {
      if (to_stdout) {
        out_fd = STDOUT_FILENO;
      } else {
        struct stat existing {};
        if (!opt_.force && ::lstat(job.out_path.c_str(), &existing) == 0)
          return fail(job.out_path, "output file exists (use -f to overwrite)");
        if (::lstat(job.out_path.c_str(), &existing) == 0 && S_ISDIR(existing.st_mode))
          return fail(job.out_path, "output is a directory");
        Status s = temp.open(job.out_path);
        if (!s.ok()) return fail(job.out_path, s.message());
        out_fd = temp.fd();
      }
    }
    const std::string out_name = to_stdout ? "(stdout)" : job.out_path;
    const uint64_t total = S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
    Progress progress(job.shown, total, opt_.verbosity >= 2);

    // Errors of the output are reported with the output's name.
    bool output_failed = false;
    auto emit = [&](const uint8_t* data, size_t n) -> Status {
      if (out_fd < 0 || n == 0) return Status::Ok();
      Status s = write_all(out_fd, data, n);
      if (!s.ok()) output_failed = true;
      return s;
    };

    // The work goes through the public streaming API, like any program
    // linked against libsibyl.
    Status status;
    uint64_t in_bytes = 0, out_bytes = 0;
    std::vector<uint8_t> inbuf(kReadChunk), outbuf(kReadChunk);
    FdSource src(in_fd);
    // Input read ahead (--png-pixels) is handed over first; `source_done`
    // once the file has been read to its end.
    std::vector<uint8_t> pending;
    size_t pending_pos = 0;
    bool source_done = false;
    uint64_t source_bytes = 0;  // bytes read from the input file
    // The next piece of input as an API input buffer; *eof after the last.
    auto next_chunk = [&](sibyl_in_buffer* ib, bool* eof) -> Status {
      if (pending_pos < pending.size() || source_done) {
        const size_t n = std::min(inbuf.size(), pending.size() - pending_pos);
        *ib = {pending.data() + pending_pos, n, 0};
        pending_pos += n;
        *eof = source_done && pending_pos == pending.size();
        return Status::Ok();
      }
      size_t got = 0;
      SIBYL_RETURN_IF_ERROR(src.read(inbuf.data(), inbuf.size(), &got));
      source_bytes += got;
      *eof = got < inbuf.size();
      *ib = {inbuf.data(), got, 0};
      return Status::Ok();
    };
    if (compressing) {
      std::unique_ptr<sibyl_cstream, void (*)(sibyl_cstream*)> cs(sibyl_cstream_create(), sibyl_cstream_free);
      if (!cs) return fail(job.shown, "out of memory");
      int rc = sibyl_cstream_set_param(cs.get(), SIBYL_PARAM_LEVEL, opt_.level == 0 ? SIBYL_LEVEL_DEFAULT : opt_.level);
      if (rc == SIBYL_OK) rc = sibyl_cstream_set_param(cs.get(), SIBYL_PARAM_THREADS, opt_.threads);
      if (rc == SIBYL_OK) rc = sibyl_cstream_set_param(cs.get(), SIBYL_PARAM_VERIFY, opt_.verify ? 1 : 0);
      if (rc == SIBYL_OK) rc = set_data_params(cs.get());
      if (rc != SIBYL_OK) return fail(job.shown, sibyl_cstream_message(cs.get()));
      if (!opt_.prior.empty()) {
        if (!load_prior()) return false;
        if (sibyl_cstream_set_prior(cs.get(), prior_.data(), prior_.size()) != SIBYL_OK)
          return fail(opt_.prior, sibyl_cstream_message(cs.get()));
        if (opt_.adapt && sibyl_cstream_set_param(cs.get(), SIBYL_PARAM_X_PC_ADAPT, 1) != SIBYL_OK)
          return fail(job.shown, sibyl_cstream_message(cs.get()));
      }
      if (opt_.png_pixels) {
        bool png = false, palette = false;
        status = read_png_pixels(job.shown, src, &pending, &source_done, &source_bytes, &png, &palette);
        if (status.ok() && png &&
            (sibyl_cstream_set_param(cs.get(), SIBYL_PARAM_X_PNG_PIXELS, 1) != SIBYL_OK ||
             (palette && sibyl_cstream_set_param(cs.get(), SIBYL_PARAM_TYPE_HINT, SIBYL_TYPE_BYTES) != SIBYL_OK)))
          return fail(job.shown, sibyl_cstream_message(cs.get()));
      }
      for (bool eof = false; status.ok() && !eof;) {
        sibyl_in_buffer ib{};
        status = next_chunk(&ib, &eof);
        if (!status.ok()) break;
        const sibyl_end_directive d = eof ? SIBYL_END : SIBYL_CONTINUE;
        size_t remaining = 0;
        do {
          sibyl_out_buffer ob{outbuf.data(), outbuf.size(), 0};
          rc = sibyl_compress_stream(cs.get(), &ob, &ib, d, &remaining);
          if (rc != SIBYL_OK) {
            status = Error(static_cast<ErrorCode>(rc), sibyl_cstream_message(cs.get()));
            break;
          }
          status = emit(outbuf.data(), ob.pos);
        } while (status.ok() && (ib.pos < ib.size || remaining != 0));
        sibyl_cstream_progress(cs.get(), &in_bytes, &out_bytes);
        progress.update(in_bytes, out_bytes);
      }
      // Vector quantisation has no bound: its error is always reported;
      // that of a bounded mode with -v.
      if (status.ok() && ((opt_.vq_dim != 0 && opt_.verbosity > 0) || (opt_.error_mode != 0 && opt_.verbosity >= 2)))
        report_lossy_error(job.shown, cs.get());
    } else {
      std::unique_ptr<sibyl_dstream, void (*)(sibyl_dstream*)> ds(sibyl_dstream_create(), sibyl_dstream_free);
      if (!ds) return fail(job.shown, "out of memory");
      int rc = sibyl_dstream_set_param(ds.get(), SIBYL_PARAM_THREADS, opt_.threads);
      // The API takes whole MiB: round down, at least 1.
      if (rc == SIBYL_OK && opt_.memlimit != 0)
        rc = sibyl_dstream_set_param(ds.get(), SIBYL_PARAM_MEMORY_LIMIT_MIB,
                                     static_cast<long long>(std::max<uint64_t>(1, opt_.memlimit >> 20)));
      if (rc != SIBYL_OK) return fail(job.shown, sibyl_dstream_message(ds.get()));
      if (!opt_.prior.empty()) {
        if (!load_prior()) return false;
        if (sibyl_dstream_set_prior(ds.get(), prior_.data(), prior_.size()) != SIBYL_OK)
          return fail(opt_.prior, sibyl_dstream_message(ds.get()));
      }
      if (opt_.record >= 0) {
        status = extract_record(in_fd, st, emit);
        in_bytes = static_cast<uint64_t>(st.st_size);
      }
      // A frame whose flags say PNG pixels (the first frame decides) is
      // decoded whole, then written as a PNG.
      bool png_out = false, first_chunk = true;
      std::vector<uint8_t> layout;
      for (bool eof = opt_.record >= 0; status.ok() && !eof;) {
        sibyl_in_buffer ib{};
        status = next_chunk(&ib, &eof);
        if (!status.ok()) break;
        if (first_chunk) {
          // (A header that does not parse is the decoder's to report.)
          format::FrameHeader fh;
          png_out = format::parse_frame_header({static_cast<const uint8_t*>(ib.src), ib.size}, &fh).ok() &&
                    (fh.flags & format::kFlagPngPixels) != 0;
          first_chunk = false;
        }
        // Until the input is used up and no output is left (at the end of
        // the input, a call without input also decodes a partial batch).
        for (;;) {
          sibyl_out_buffer ob{outbuf.data(), outbuf.size(), 0};
          rc = sibyl_decompress_stream(ds.get(), &ob, &ib, nullptr);
          if (rc != SIBYL_OK) {
            status = Error(static_cast<ErrorCode>(rc), sibyl_dstream_message(ds.get()));
            break;
          }
          if (png_out)
            layout.insert(layout.end(), outbuf.begin(), outbuf.begin() + static_cast<std::ptrdiff_t>(ob.pos));
          else
            status = emit(outbuf.data(), ob.pos);
          if (!status.ok() || (ib.pos == ib.size && ob.pos < ob.size)) break;
        }
        sibyl_dstream_progress(ds.get(), &in_bytes, &out_bytes);
        progress.update(in_bytes, out_bytes);
      }
      if (status.ok() && opt_.record < 0) {
        rc = sibyl_decompress_stream_end(ds.get());
        if (rc != SIBYL_OK) status = Error(static_cast<ErrorCode>(rc), sibyl_dstream_message(ds.get()));
      }
      if (status.ok() && png_out) {
        std::vector<uint8_t> png;
        status = layout_to_png(layout, &png);
        if (status.ok()) status = emit(png.data(), png.size());
      }
      sibyl_dstream_progress(ds.get(), &in_bytes, &out_bytes);
    }
    if (status.ok() && S_ISREG(st.st_mode) && !job.from_stdin && compressing) {
      // A file written to while it was compressed: the archive holds a
      // consistent snapshot of the bytes read (not fatal, as in xz and
      // gzip), but removing the input (--rm, or the default without -k)
      // would lose what was written after the read, so it is kept.
      struct stat now {};
      const bool changed = source_bytes != static_cast<uint64_t>(st.st_size) ||
                           (fstat(in_fd, &now) == 0 && (now.st_size != st.st_size || now.st_mtim.tv_sec != st.st_mtim.tv_sec ||
                                                        now.st_mtim.tv_nsec != st.st_mtim.tv_nsec));
      if (changed) {
        job.input_changed = true;
        if (opt_.verbosity > 0) report(job.shown, "file changed while it was compressed; the input is kept");
      }
    }
    if (!status.ok()) {
      progress.finish(in_bytes, out_bytes, false, compressing);
      temp.discard();
      if (output_failed) return fail(out_name, status.message());
      return fail(job.shown, status.message());
    }
    if (!testing && !to_stdout) {
      Status s = temp.commit(job.from_stdin ? nullptr : &st, opt_.force);
      if (!s.ok()) {
        progress.finish(in_bytes, out_bytes, false, compressing);
        return fail(job.out_path, s.message());
      }
    }
    progress.finish(compressing ? source_bytes : out_bytes, compressing ? out_bytes : in_bytes, opt_.verbosity >= 2, compressing);
    if (testing && opt_.verbosity >= 2) std::fprintf(stderr, "%s: OK\n", job.shown.c_str());
    return true;
  }

  // --png-pixels: reads the first bytes of the input; a PNG is read whole,
  // its pixels put in the PNG pixel layout (checked: the PNG written back
  // from it decodes to the same layout) and handed over instead of the
  // file (*png; *palette when the samples are palette indices, which the
  // byte model codes better). Anything else, or a PNG libpng cannot decode
  // (said unless -q), is handed over as it is, the rest of the file streamed
  // after it.
  Status read_png_pixels(const std::string& shown, FdSource& src, std::vector<uint8_t>* pending, bool* done,
                         uint64_t* read, bool* png, bool* palette) {
    *png = false;
    pending->resize(8);
    size_t got = 0;
    SIBYL_RETURN_IF_ERROR(src.read(pending->data(), 8, &got));
    *read += got;
    pending->resize(got);
    if (got < 8) {
      *done = true;
      return Status::Ok();
    }
    if (!is_png(*pending)) return Status::Ok();
    for (;;) {
      const size_t at = pending->size();
      pending->resize(at + kReadChunk);
      SIBYL_RETURN_IF_ERROR(src.read(pending->data() + at, kReadChunk, &got));
      *read += got;
      pending->resize(at + got);
      if (got < kReadChunk) break;
    }
    *done = true;
    std::vector<uint8_t> layout, back, again;
    Status s = png_to_layout(*pending, kMaxPngPixelBytes, &layout, palette);
    if (s.ok()) {
      s = layout_to_png(layout, &back);
      if (s.ok()) s = png_to_layout(back, kMaxPngPixelBytes, &again);
      if (s.ok() && again != layout) s = Error(ErrorCode::kInternal, "the PNG written back has other pixels");
    }
    if (!s.ok()) {
      if (opt_.verbosity > 0) report(shown, s.message() + "; compressed as bytes");
      return Status::Ok();
    }
    *pending = std::move(layout);
    *png = true;
    return Status::Ok();
  }

  static void report_lossy_error(const std::string& shown, const sibyl_cstream* cs) {
    uint64_t n = 0;
    double max_abs = 0, rms = 0, signal = 0;
    sibyl_cstream_lossy_error(cs, &n, &max_abs, &rms, &signal);
    if (n == 0) {
      std::fprintf(stderr, "%s: no float values were approximated (all kept exactly)\n", shown.c_str());
      return;
    }
    const double snr = rms > 0 ? 20.0 * std::log10(signal / rms) : INFINITY;
    std::fprintf(stderr, "%s: %llu values approximated: max error %.6g, rms error %.6g (values rms %.6g, SNR %.1f dB)\n",
                 shown.c_str(), static_cast<unsigned long long>(n), max_abs, rms, signal, snr);
  }

  // -r: directories among the operands become the regular files under
  // them (symbolic links are not followed), in sorted order; compression
  // skips files that already have the suffix, the other modes take only
  // those. Without -r operands pass through unchanged.
  bool expand(const std::vector<std::string>& operands, std::vector<std::string>* files) {
    namespace fs = std::filesystem;
    bool ok = true;
    for (const auto& name : operands) {
      struct stat st {};
      if (!opt_.recursive || name == "-" || ::lstat(name.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        files->push_back(name);
        continue;
      }
      std::vector<std::string> found;
      std::error_code ec;
      fs::recursive_directory_iterator it(name, fs::directory_options::none, ec), end;
      for (; !ec && it != end; it.increment(ec)) {
        std::error_code sec;
        const fs::file_status fst = it->symlink_status(sec);
        if (sec || !fs::is_regular_file(fst)) continue;
        const std::string path = it->path().string();
        const bool has_suffix = ends_with(path, kSuffix);
        const bool wanted = opt_.mode == Mode::kBench ? true : opt_.mode == Mode::kCompress ? !has_suffix : has_suffix;
        if (wanted) found.push_back(path);
      }
      if (ec) ok = fail(name, "cannot read directory: " + ec.message());
      std::sort(found.begin(), found.end());
      files->insert(files->end(), found.begin(), found.end());
    }
    return ok;
  }

  // Opens a regular file for reading (blocking reads; O_NONBLOCK only keeps
  // open() from hanging on a FIFO); reports and returns -1 otherwise.
  int open_regular(const std::string& name, struct stat* st) {
    const int fd = ::open(name.c_str(), O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
      fail(name, errno_text(errno));
      return -1;
    }
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
      ::close(fd);
      fail(name, S_ISDIR(st->st_mode) ? "is a directory, skipping" : "not a regular file, skipping");
      return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
  }

  // -b: each level compressed and decompressed in memory through the API,
  // repeated for at least a second (best time kept), round trip compared.
  bool bench_one(const std::string& name) {
    if (name == "-") return fail("(stdin)", "--bench needs a file");
    struct stat st {};
    const int fd = open_regular(name, &st);
    if (fd < 0) return false;
    std::vector<uint8_t> data;
    {
      FdSource src(fd);
      std::vector<uint8_t> buf(kReadChunk);
      for (;;) {
        size_t got = 0;
        Status s = src.read(buf.data(), buf.size(), &got);
        if (!s.ok()) {
          ::close(fd);
          return fail(name, s.message());
        }
        data.insert(data.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(got));
        if (got < buf.size()) break;
      }
    }
    ::close(fd);
    const int first = opt_.level == 0 ? SIBYL_LEVEL_DEFAULT : opt_.level;
    const int last = std::max(first, opt_.bench_end);
    std::printf("%s: %llu bytes, %d thread%s\n", name.c_str(), static_cast<unsigned long long>(data.size()), opt_.threads,
                opt_.threads == 1 ? "" : "s");
    std::printf("%6s %14s %8s %13s %13s %11s\n", "level", "compressed", "ratio", "compress", "decompress", "memory");
    std::fflush(stdout);
    using Clock = std::chrono::steady_clock;
    std::vector<uint8_t> packed(sibyl_compress_bound(data.size())), back(data.size());
    for (int level = first; level <= last; ++level) {
      size_t packed_size = 0;
      double best_c = 1e30, best_d = 1e30;
      int rc = SIBYL_OK;
      std::string message;
      for (double spent = 0; rc == SIBYL_OK && (spent < 1.0 || best_c == 1e30);) {
        std::unique_ptr<sibyl_cstream, void (*)(sibyl_cstream*)> cs(sibyl_cstream_create(), sibyl_cstream_free);
        sibyl_cstream_set_param(cs.get(), SIBYL_PARAM_LEVEL, level);
        sibyl_cstream_set_param(cs.get(), SIBYL_PARAM_THREADS, opt_.threads);
        if (set_data_params(cs.get()) != SIBYL_OK) return fail(name, sibyl_cstream_message(cs.get()));
        sibyl_in_buffer ib{data.data(), data.size(), 0};
        sibyl_out_buffer ob{packed.data(), packed.size(), 0};
        size_t remaining = 0;
        const auto t0 = Clock::now();
        rc = sibyl_compress_stream(cs.get(), &ob, &ib, SIBYL_END, &remaining);
        const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
        if (rc == SIBYL_OK && remaining != 0) rc = SIBYL_ERROR_INTERNAL;
        if (rc != SIBYL_OK) {
          message = sibyl_cstream_message(cs.get());
          break;
        }
        packed_size = ob.pos;
        best_c = std::min(best_c, dt);
        spent += dt;
      }
      for (double spent = 0; rc == SIBYL_OK && (spent < 1.0 || best_d == 1e30);) {
        std::unique_ptr<sibyl_dstream, void (*)(sibyl_dstream*)> ds(sibyl_dstream_create(), sibyl_dstream_free);
        sibyl_dstream_set_param(ds.get(), SIBYL_PARAM_THREADS, opt_.threads);
        sibyl_in_buffer ib{packed.data(), packed_size, 0};
        sibyl_out_buffer ob{back.data(), back.size(), 0};
        const auto t0 = Clock::now();
        rc = sibyl_decompress_stream(ds.get(), &ob, &ib, nullptr);
        if (rc == SIBYL_OK) rc = sibyl_decompress_stream_end(ds.get());
        const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
        if (rc != SIBYL_OK) {
          message = sibyl_dstream_message(ds.get());
          break;
        }
        // Lossy (--error): the decoder has checked the checksums of the
        // approximated data; only its size must match.
        if (ob.pos != data.size() || (opt_.error_mode == 0 && opt_.vq_dim == 0 && !std::equal(data.begin(), data.end(), back.begin()))) {
          rc = SIBYL_ERROR_INTERNAL;
          message = "round trip does not give the input back";
          break;
        }
        best_d = std::min(best_d, dt);
        spent += dt;
      }
      if (rc != SIBYL_OK) return fail(name, "level " + std::to_string(level) + ": " + message);
      auto speed = [&](double t) {
        char b[32];
        std::snprintf(b, sizeof b, "%.2f MB/s", t > 0 ? static_cast<double>(data.size()) / t / 1e6 : 0.0);
        return std::string(b);
      };
      std::printf("%6d %14zu %8.4f %13s %13s %7llu MiB\n", level, packed_size,
                  data.empty() ? 0.0 : static_cast<double>(packed_size) / static_cast<double>(data.size()),
                  speed(best_c).c_str(), speed(best_d).c_str(),
                  static_cast<unsigned long long>((sibyl_level_memory(level) + (1u << 20) - 1) >> 20));
      std::fflush(stdout);
    }
    return true;
  }

  static std::string json_string(const std::string& v) {
    std::string o = "\"";
    for (unsigned char c : v) {
      if (c == '"' || c == '\\') {
        o += '\\';
        o += static_cast<char>(c);
      } else if (c < 0x20) {
        char b[8];
        std::snprintf(b, sizeof b, "\\u%04x", c);
        o += b;
      } else {
        o += static_cast<char>(c);
      }
    }
    return o + "\"";
  }

  void list_json(const std::string& name, uint64_t file_size, const std::vector<FrameListing>& frames) {
    std::string j = json_.empty() ? "" : ", ";
    uint64_t raw = 0;
    std::map<std::string, uint64_t> by_codec;
    std::string fj;
    for (const auto& f : frames) {
      raw += f.end.content_size;
      char head[512];
      std::snprintf(head, sizeof head,
                    "{\"offset\": %llu, \"size\": %llu, \"level\": %d, \"block_size\": %llu, \"memory\": %llu, "
                    "\"content_size\": %llu, \"content_xxh64\": \"%016llx\", \"png_pixels\": %s, \"blocks\": [",
                    static_cast<unsigned long long>(f.offset), static_cast<unsigned long long>(f.frame_size), f.header.level,
                    static_cast<unsigned long long>(uint64_t(1) << f.header.block_log),
                    static_cast<unsigned long long>(uint64_t(f.header.memory_kib) * 1024),
                    static_cast<unsigned long long>(f.end.content_size), static_cast<unsigned long long>(f.end.content_hash),
                    (f.header.flags & format::kFlagPngPixels) != 0 ? "true" : "false");
      if (!fj.empty()) fj += ", ";
      fj += head;
      bool first = true;
      for (const auto& b : f.end.index) {
        const Codec* c = find_codec(b.codec);
        const std::string codec = c ? c->name : "unknown";
        ++by_codec[codec];
        char row[256];
        std::snprintf(row, sizeof row, "%s{\"codec\": %s, \"codec_id\": %u, \"original_size\": %u, \"coded_size\": %u}",
                      first ? "" : ", ", json_string(codec).c_str(), static_cast<unsigned>(b.codec), b.original_size,
                      b.coded_size);
        fj += row;
        first = false;
      }
      fj += "]}";
    }
    std::string counts;
    for (const auto& [codec, n] : by_codec) counts += (counts.empty() ? "" : ", ") + json_string(codec) + ": " + std::to_string(n);
    j += "{\"name\": " + json_string(name) + ", \"compressed_size\": " + std::to_string(file_size) +
         ", \"content_size\": " + std::to_string(raw) + ", \"check\": \"XXH64\", \"blocks_by_codec\": {" + counts +
         "}, \"frames\": [" + fj + "]}";
    json_ += j;
  }

  void print_list_row(const std::string& name, uint64_t frames, uint64_t blocks, uint64_t packed, uint64_t raw, int level,
                      uint64_t memory) {
    char lvl[16] = "-";
    if (level > 0) std::snprintf(lvl, sizeof lvl, "-%d", level);
    char mem[32] = "-";
    if (memory > 0) std::snprintf(mem, sizeof mem, "%llu MiB", static_cast<unsigned long long>((memory + (1u << 20) - 1) >> 20));
    std::printf("%7llu %7llu %14llu %14llu %7.3f %6s %9s  %-6s %s\n", static_cast<unsigned long long>(frames),
                static_cast<unsigned long long>(blocks), static_cast<unsigned long long>(packed), static_cast<unsigned long long>(raw),
                raw ? static_cast<double>(packed) / raw : 0.0, lvl, mem, "XXH64", name.c_str());
  }

  // The --prior file, read once.
  bool load_prior() {
    if (!prior_.empty()) return true;
    struct stat st {};
    const int fd = open_regular(opt_.prior, &st);
    if (fd < 0) return false;
    prior_.resize(static_cast<size_t>(st.st_size));
    FdSource src(fd);
    size_t got = 0;
    Status s = src.read(prior_.data(), prior_.size(), &got);
    ::close(fd);
    if (s.ok() && got != prior_.size()) s = Error(ErrorCode::kIo, "the file changed while it was read");
    if (!s.ok()) {
      prior_.clear();
      return fail(opt_.prior, s.message());
    }
    return true;
  }

  // --record N: finds the blocks that hold record N through the archive's
  // index and decodes only that record (from its own stream, or from the
  // two parts a block boundary cut it into).
  template <class Emit>
  Status extract_record(int fd, const struct stat& st, Emit& emit) {
    if (!S_ISREG(st.st_mode)) return Error(ErrorCode::kInvalidArgument, "--record needs an archive file, not a pipe");
    FdRandomAccess src(fd, static_cast<uint64_t>(st.st_size));
    std::vector<FrameListing> frames;
    SIBYL_RETURN_IF_ERROR(list_archive(src, &frames));
    const uint64_t number = static_cast<uint64_t>(opt_.record);
    std::vector<uint8_t> record, head, payload;
    uint64_t covered = 0;
    bool any = false;
    for (const FrameListing& f : frames) {
      uint64_t pos = f.offset + format::kFrameHeaderSize;
      for (const format::IndexEntry& e : f.end.index) {
        head.resize(4);
        if (pos + 4 > src.size()) return Error(ErrorCode::kCorrupt, "block header past the end of the archive");
        SIBYL_RETURN_IF_ERROR(src.read_at(pos, head.data(), 4));
        const size_t hsize = format::block_header_size(head);
        if (hsize < 4 || pos + hsize > src.size()) return Error(ErrorCode::kCorrupt, "bad block header");
        head.resize(hsize);
        SIBYL_RETURN_IF_ERROR(src.read_at(pos, head.data(), hsize));
        format::BlockHeader h;
        SIBYL_RETURN_IF_ERROR(format::parse_block_header(head, f.header.block_log, &h));
        if (h.coded_size != e.coded_size || pos + hsize + h.coded_size > src.size())
          return Error(ErrorCode::kCorrupt, "block header does not match the index");
        if (h.codec == kCodecPc) {
          any = true;
          pc::PcConfig config;
          SIBYL_RETURN_IF_ERROR(pc::PcConfig::parse(h.params, &config));
          payload.resize(h.coded_size);
          SIBYL_RETURN_IF_ERROR(src.read_at(pos + hsize, payload.data(), payload.size()));
          SIBYL_RETURN_IF_ERROR(pc::pc_decode_record(config, payload, number, &record, &covered));
          if (covered > record.size()) return Error(ErrorCode::kCorrupt, "a record is in the archive twice");
          if (!record.empty() && covered == record.size()) return emit(record.data(), record.size());
        }
        pos += hsize + h.coded_size;
      }
    }
    if (!any) return Error(ErrorCode::kInvalidArgument, "the archive holds no records coded with a prior");
    return Error(ErrorCode::kInvalidArgument, "the archive has no record " + std::to_string(number));
  }

  bool list_one(const std::string& name, ListTotals* totals) {
    if (name == "-") return fail("(stdin)", "--list needs a file, not standard input");
    struct stat st {};
    const int fd = open_regular(name, &st);
    if (fd < 0) return false;
    FdRandomAccess src(fd, static_cast<uint64_t>(st.st_size));
    std::vector<FrameListing> frames;
    Status s = list_archive(src, &frames);
    ::close(fd);
    if (!s.ok()) return fail(name, s.message());
    if (opt_.json) {
      list_json(name, static_cast<uint64_t>(st.st_size), frames);
      return true;
    }
    if (!header_printed_) {
      std::printf("%7s %7s %14s %14s %7s %6s %9s  %-6s %s\n", "Frames", "Blocks", "Compressed", "Uncompressed", "Ratio", "Level",
                  "Memory", "Check", "Filename");
      header_printed_ = true;
    }
    uint64_t blocks = 0, raw = 0, memory = 0;
    int level = -1;
    for (const auto& f : frames) {
      blocks += f.end.index.size();
      raw += f.end.content_size;
      memory = std::max<uint64_t>(memory, uint64_t(f.header.memory_kib) * 1024);
      level = level == -1 || level == f.header.level ? f.header.level : 0;
    }
    print_list_row(name, frames.size(), blocks, static_cast<uint64_t>(st.st_size), raw, level, memory);
    if (!frames.empty() && (frames.front().header.flags & format::kFlagPngPixels) != 0)
      std::printf("  content: the pixels of a PNG (--png-pixels): -d writes a PNG with the same pixels, not the same bytes\n");
    if (opt_.verbosity >= 2) {
      std::map<std::string, uint64_t> by_codec;
      for (const auto& f : frames)
        for (const auto& b : f.end.index) {
          const Codec* c = find_codec(b.codec);
          ++by_codec[c ? c->name : "unknown"];
        }
      std::string counts;
      for (const auto& [codec, n] : by_codec) counts += (counts.empty() ? "" : ", ") + codec + " " + std::to_string(n);
      std::printf("  blocks by codec: %s\n", counts.empty() ? "none" : counts.c_str());
      int fi = 0;
      for (const auto& f : frames) {
        ++fi;
        std::printf("  frame %d: offset %llu, %llu bytes, level %d, block size %s, decode memory %s per thread, content xxh64 %016llx\n",
                    fi, static_cast<unsigned long long>(f.offset), static_cast<unsigned long long>(f.frame_size), f.header.level,
                    human_bytes(uint64_t(1) << f.header.block_log).c_str(), human_bytes(uint64_t(f.header.memory_kib) * 1024).c_str(),
                    static_cast<unsigned long long>(f.end.content_hash));
        int bi = 0;
        for (const auto& b : f.end.index) {
          const Codec* c = find_codec(b.codec);
          std::printf("    block %d: %-8s %12u -> %12u\n", ++bi, c ? c->name : "unknown", b.original_size, b.coded_size);
        }
      }
    }
    totals->frames += frames.size();
    totals->blocks += blocks;
    totals->packed += static_cast<uint64_t>(st.st_size);
    totals->raw += raw;
    ++totals->files;
    return true;
  }

  const Options& opt_;
  std::vector<uint8_t> prior_;
  bool header_printed_ = false;
  std::string json_;  // --json: the file objects so far
};

}  // namespace
}  // namespace sibyl::cli

namespace sibyl::cli {
namespace {

void train_progress(void* ctx, uint32_t epoch, double bits) {
  const auto* t = static_cast<const TrainArgs*>(ctx);
  if (t->verbosity >= 1) std::fprintf(stderr, "sibyl train: epoch %u: %.4f bits per value on the training set\n", epoch, bits);
}

int run_train(int argc, char** argv) {
  TrainArgs t;
  std::string error;
  if (!parse_train_options(argc, argv, &t, &error)) {
    std::fprintf(stderr, "sibyl: %s\n", error.c_str());
    return 1;
  }
  if (t.show_help) {
    std::fputs(train_help_text(), stdout);
    return 0;
  }
  struct stat existing {};
  if (!t.force && ::stat(t.output.c_str(), &existing) == 0) {
    report(t.output, "output file exists (use -f to overwrite)");
    return 1;
  }
  Dataset data;
  Status s = load_dataset(t.inputs, &data);
  if (!s.ok()) {
    std::fprintf(stderr, "sibyl: %s\n", s.message().c_str());
    return 1;
  }
  pc::TrainOptions o;
  o.latent = t.latent;
  if (t.epochs != 0) o.epochs = t.epochs;
  o.threads = t.threads != 0 ? t.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  o.progress = train_progress;
  o.progress_ctx = &t;
  const uint32_t values = data.max_value + 1;
  if (t.verbosity >= 1)
    std::fprintf(stderr, "sibyl train: %zu records of %s (%zu values, 0..%u), latent %u, %u epochs, %d threads\n", data.count,
                 data.shape.c_str(), data.record_size, data.max_value, o.latent, o.epochs, o.threads);
  if (data.record_size > pc::kMaxVars) {
    std::fprintf(stderr, "sibyl: records of %zu values are too large (at most %u)\n", data.record_size, pc::kMaxVars);
    return 1;
  }
  const auto t0 = std::chrono::steady_clock::now();
  pc::Hclt model;
  s = pc::train_hclt(data.records.data(), data.count, static_cast<uint32_t>(data.record_size), std::max(2u, values), o, &model);
  if (!s.ok()) {
    std::fprintf(stderr, "sibyl: %s\n", s.message().c_str());
    return 1;
  }
  if (!t.no_mixing) {
    // The collection regime's model learned over the training records,
    // frozen into the prior: the independent regime codes from it.
    const auto t1 = std::chrono::steady_clock::now();
    uint64_t hash = 0;
    std::vector<uint8_t> plain = pc::write_prior(model);
    s = pc::register_prior(plain, &hash);
    if (!s.ok()) {
      std::fprintf(stderr, "sibyl: %s\n", s.message().c_str());
      return 1;
    }
    std::vector<uint8_t>().swap(plain);
    model.mixing = pc::train_mixing(*pc::find_prior(hash), data.records.data(), data.count, data.width);
    if (t.verbosity >= 1)
      std::fprintf(stderr, "sibyl train: mixing model learned over the %zu records (rows of %u) in %.1f s\n", data.count,
                   data.width, std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count());
  }
  const std::vector<uint8_t> file = pc::write_prior(model);
  TempOutput temp;
  s = temp.open(t.output);
  if (s.ok()) s = write_all(temp.fd(), file.data(), file.size());
  if (s.ok()) {
    // A new file's usual mode (0666 less the umask), not the temporary's 0600.
    const mode_t mask = ::umask(0);
    ::umask(mask);
    if (::fchmod(temp.fd(), 0666 & ~mask) != 0) s = Error(ErrorCode::kIo, "cannot set the file mode");
  }
  if (s.ok()) s = temp.commit(nullptr, true);
  if (!s.ok()) {
    report(t.output, s.message());
    return 1;
  }
  if (t.verbosity >= 1)
    std::fprintf(stderr, "sibyl train: wrote %s (%zu bytes) in %.1f s\n", t.output.c_str(), file.size(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}

}  // namespace
}  // namespace sibyl::cli

int main(int argc, char** argv) {
  using namespace sibyl::cli;
  if (argc > 1 && std::string(argv[1]) == "train") return run_train(argc, argv);
  Options opt;
  std::string error;
  if (!parse_options(argc, argv, &opt, &error)) {
    std::fprintf(stderr, "sibyl: %s\n", error.c_str());
    return 1;
  }
  if (opt.show_help) {
    std::fputs(help_text(), stdout);
    return 0;
  }
  if (opt.show_version) {
    std::printf("sibyl %s (container format v1; kernels %s, CPU %s)\n", SIBYL_VERSION_STRING,
                sibyl::simd_level_name(sibyl::simd_level()), sibyl::simd_level_name(sibyl::simd_cpu_level()));
    return 0;
  }
  install_signal_cleanup();
  return Runner(opt).run();
}
