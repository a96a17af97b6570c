// The sibyl program: xz/zstd-style front end over the engine.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "codecs/codec.h"
#include "codecs/levels.h"
#include "engine/decoder.h"
#include "engine/encoder.h"
#include "engine/listing.h"
#include "file_io.h"
#include "options.h"
#include "progress.h"

namespace sibyl::cli {
namespace {

constexpr const char* kSuffix = ".sby";
constexpr size_t kReadChunk = size_t(1) << 20;

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
    std::vector<std::string> files = opt_.files;
    if (files.empty()) files.push_back("-");
    if (opt_.has_output && files.size() > 1) {
      std::fprintf(stderr, "%s: -o takes one input file, got %zu\n", g_program, files.size());
      return 1;
    }
    if (opt_.mode == Mode::kList) {
      bool ok = true;
      ListTotals totals;
      for (const auto& f : files) ok = list_one(f, &totals) && ok;
      if (files.size() > 1 && opt_.verbosity > 0 && totals.files > 0) print_list_row("total", totals.frames, totals.blocks, totals.packed, totals.raw, -1, 0);
      return ok ? 0 : 1;
    }
    int stdin_uses = 0;
    for (const auto& f : files) stdin_uses += f == "-";
    if (stdin_uses > 1) {
      std::fprintf(stderr, "%s: standard input can be read only once\n", g_program);
      return 1;
    }
    bool ok = true;
    for (const auto& f : files) ok = process(f) && ok;
    return ok ? 0 : 1;
  }

 private:
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
    Sink sink = [&](std::span<const uint8_t> bytes) -> Status {
      if (out_fd < 0) return Status::Ok();
      Status s = write_all(out_fd, bytes.data(), bytes.size());
      if (!s.ok()) output_failed = true;
      return s;
    };

    Status status;
    uint64_t in_bytes = 0, out_bytes = 0;
    if (compressing) {
      EncodeOptions eo;
      eo.level = opt_.level == 0 ? kDefaultLevel : opt_.level;
      eo.threads = opt_.threads;
      eo.verify = opt_.verify;
      FrameEncoder enc(eo, sink);
      FdSource src(in_fd);
      std::vector<uint8_t> buf(kReadChunk);
      for (;;) {
        size_t got = 0;
        status = src.read(buf.data(), buf.size(), &got);
        if (!status.ok() || got == 0) break;
        status = enc.write({buf.data(), got});
        if (!status.ok()) break;
        progress.update(enc.bytes_in(), enc.bytes_out());
        if (got < buf.size()) break;
      }
      if (status.ok()) status = enc.finish();
      in_bytes = enc.bytes_in();
      out_bytes = enc.bytes_out();
    } else {
      DecodeOptions dopt;
      dopt.threads = opt_.threads;
      if (opt_.memlimit) dopt.memory_limit = opt_.memlimit;
      FdSource src(in_fd);
      DecodeStats stats;
      Sink counting = [&](std::span<const uint8_t> bytes) -> Status {
        SIBYL_RETURN_IF_ERROR(sink(bytes));
        progress.update(stats.bytes_in, stats.bytes_out);
        return Status::Ok();
      };
      status = decode_archive(src, dopt, counting, &stats);
      in_bytes = stats.bytes_in;
      out_bytes = stats.bytes_out;
    }
    if (status.ok() && S_ISREG(st.st_mode) && !job.from_stdin && compressing) {
      // A file written to while it was compressed: the archive holds a
      // consistent snapshot of the bytes read (not fatal, as in xz and
      // gzip), but removing the input (--rm, or the default without -k)
      // would lose what was written after the read, so it is kept.
      struct stat now {};
      const bool changed = in_bytes != static_cast<uint64_t>(st.st_size) ||
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
    progress.finish(compressing ? in_bytes : out_bytes, compressing ? out_bytes : in_bytes, opt_.verbosity >= 2, compressing);
    if (testing && opt_.verbosity >= 2) std::fprintf(stderr, "%s: OK\n", job.shown.c_str());
    return true;
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

  bool list_one(const std::string& name, ListTotals* totals) {
    if (name == "-") return fail("(stdin)", "--list needs a file, not standard input");
    const int fd = ::open(name.c_str(), O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return fail(name, errno_text(errno));
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return fail(name, S_ISDIR(st.st_mode) ? "is a directory, skipping" : "not a regular file, skipping");
    }
    FdRandomAccess src(fd, static_cast<uint64_t>(st.st_size));
    std::vector<FrameListing> frames;
    Status s = list_archive(src, &frames);
    ::close(fd);
    if (!s.ok()) return fail(name, s.message());
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
    if (opt_.verbosity >= 2) {
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
  bool header_printed_ = false;
};

}  // namespace
}  // namespace sibyl::cli

int main(int argc, char** argv) {
  using namespace sibyl::cli;
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
    std::printf("sibyl %s (container format v1)\n", SIBYL_VERSION_STRING);
    return 0;
  }
  install_signal_cleanup();
  return Runner(opt).run();
}
