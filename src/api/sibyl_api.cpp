// The C API (include/sibyl/sibyl.h) over the engine: the one-shot calls and
// the streaming contexts drive the same FrameEncoder and StreamDecoder as
// every other user of the library. No exception crosses this boundary.
#define SIBYL_EXPERIMENTAL 1
#include "sibyl/sibyl.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "codecs/image/image_codec.h"
#include "codecs/levels.h"
#include "common/memory_hooks.h"
#include "common/status.h"
#include "engine/decoder.h"
#include "codecs/tensor/tensor_codec.h"
#include "codecs/pc/pc_codec.h"
#include "engine/encoder.h"
#include "engine/listing.h"
#include "format/container.h"

using sibyl::ErrorCode;
using sibyl::Status;

static_assert(SIBYL_ERROR_IO == static_cast<int>(ErrorCode::kIo));
static_assert(SIBYL_ERROR_INTERNAL == static_cast<int>(ErrorCode::kInternal));
static_assert(SIBYL_ERROR_DST_TOO_SMALL == static_cast<int>(ErrorCode::kDstTooSmall));
static_assert(SIBYL_ERROR_STAGE_WRONG == static_cast<int>(ErrorCode::kStage));
static_assert(SIBYL_LEVEL_MIN == sibyl::kMinLevel && SIBYL_LEVEL_MAX == sibyl::kMaxLevel &&
              SIBYL_LEVEL_DEFAULT == sibyl::kDefaultLevel);
static_assert(sibyl::tensor::ErrorBound::kAbsolute == 1 && sibyl::tensor::ErrorBound::kRelative == 2);
static_assert(SIBYL_X_DTYPE_F32 == static_cast<int>(sibyl::tensor::DType::kF32) &&
              SIBYL_X_DTYPE_BF16 == static_cast<int>(sibyl::tensor::DType::kBF16) &&
              SIBYL_X_DTYPE_U32 == static_cast<int>(sibyl::tensor::DType::kU32) &&
              SIBYL_X_DTYPE_U32 + 1 == sibyl::tensor::kDTypeCount);

namespace {

constexpr int kMaxThreads = 256;

int code_of(const Status& s) { return static_cast<int>(s.code()); }

// Stores a message without ever throwing (out of memory keeps a fixed text).
void set_message(std::string& dst, const std::string& text) noexcept {
  try {
    dst = text;
  } catch (...) {
    dst.clear();  // never allocates
  }
}

// Runs f, turning any exception into a status (the API must not throw).
template <class F>
Status guarded(F&& f) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return sibyl::Error(ErrorCode::kOutOfMemory, "out of memory");
  } catch (...) {
    return sibyl::Error(ErrorCode::kInternal, "unexpected exception inside libsibyl");
  }
}

bool valid_in(const sibyl_in_buffer* in) { return in != nullptr && in->pos <= in->size && (in->src != nullptr || in->size == 0); }
bool valid_out(const sibyl_out_buffer* out) {
  return out != nullptr && out->pos <= out->size && (out->dst != nullptr || out->size == 0);
}

// Context memory: from the caller's allocator when there is one.
template <class T>
T* create_context(const sibyl_allocator* a) {
  sibyl::MemoryHooks hooks;
  if (a != nullptr && a->alloc != nullptr && a->free != nullptr) hooks = {a->alloc, a->free, a->opaque};
  void* mem = hooks.active() ? hooks.alloc(hooks.opaque, sizeof(T)) : ::operator new(sizeof(T), std::nothrow);
  if (mem == nullptr) return nullptr;
  try {
    return new (mem) T(hooks);
  } catch (...) {
    if (hooks.active()) hooks.free(hooks.opaque, mem);
    else ::operator delete(mem);
    return nullptr;
  }
}

template <class T>
void destroy_context(T* c) {
  if (c == nullptr) return;
  const sibyl::MemoryHooks hooks = c->hooks;
  c->~T();
  if (hooks.active()) hooks.free(hooks.opaque, c);
  else ::operator delete(c);
}

Status check_type_hint(long long v) {
  switch (v) {
    case SIBYL_TYPE_AUTO:
    case SIBYL_TYPE_BYTES:
    case SIBYL_TYPE_TEXT:  // served by the byte model in this build
    case SIBYL_TYPE_TENSOR:
    case SIBYL_TYPE_AUDIO:
    case SIBYL_TYPE_IMAGE:
      return Status::Ok();
    default:
      return sibyl::Error(ErrorCode::kInvalidArgument, "unknown data type " + std::to_string(v));
  }
}

Status check_range(const char* what, long long v, long long lo, long long hi) {
  if (v < lo || v > hi)
    return sibyl::Error(ErrorCode::kInvalidArgument, std::string(what) + " must be " + std::to_string(lo) + ".." +
                                                         std::to_string(hi) + ", got " + std::to_string(v));
  return Status::Ok();
}

}  // namespace

// ---------------------------------------------------------------- contexts

namespace {

// What both kinds of stream context share: the caller's allocator and the
// sticky error with its message.
struct ContextBase {
  explicit ContextBase(const sibyl::MemoryHooks& h) : hooks(h) {}

  sibyl::MemoryHooks hooks;
  Status error;  // sticky until reset
  std::string message;

  int fail(const Status& s) noexcept {
    try {
      error = s;
    } catch (...) {
      error = Status(s.code(), std::string());
    }
    set_message(message, s.message());
    return code_of(s);
  }
  void clear_error() noexcept {
    error = Status::Ok();
    message.clear();
  }
};

// Applies one parameter: refused while a stream runs or after a failure
// (until reset); the outcome's message is kept; nothing throws.
template <class F>
int set_param_with(ContextBase* c, bool running, F&& apply) {
  if (running || !c->error.ok()) {
    set_message(c->message, running ? "parameters are fixed while a stream runs (reset first)"
                                    : "the context has failed (reset first)");
    return SIBYL_ERROR_STAGE_WRONG;
  }
  const Status s = guarded(std::forward<F>(apply));
  set_message(c->message, s.message());
  return code_of(s);
}

}  // namespace

struct sibyl_cstream : ContextBase {
  explicit sibyl_cstream(const sibyl::MemoryHooks& h) : ContextBase(h) {}

  // Parameters of the next stream.
  int level = sibyl::kDefaultLevel;
  int threads = 1;
  uint64_t memory_limit = 0;  // bytes; 0 = none
  bool verify = false;
  int block_log = 0;
  int type_hint = SIBYL_TYPE_AUTO;
  int tensor_dtype = SIBYL_X_DTYPE_NONE;
  int audio_sample = SIBYL_X_SAMPLE_NONE;
  unsigned audio_channels = 1;
  uint32_t image_width = 0;
  uint64_t image_height = 0;
  unsigned image_channels = 1, image_depth = 8;
  uint64_t tensor_row = 1;
  uint64_t tensor_tokens = 0, tensor_layer = 0;
  bool tensor_kv = false;
  int error_mode = 0;  // sibyl_cstream_set_error_bound, or 3: sibyl_cstream_set_vq
  double error_bound = 0;
  uint64_t prior_hash = 0;  // sibyl_cstream_set_prior (registered with the pc codec)
  bool prior_adapt = false;
  uint8_t frame_flags = 0;
  sibyl::tensor::VqShape vq;
  sibyl::tensor::LossyStats stats;  // of the current (or the last finished) stream

  // The current stream.
  std::unique_ptr<sibyl::FrameEncoder> enc;
  std::vector<uint8_t> pending;  // compressed bytes not yet handed out
  size_t pending_pos = 0;
  bool flushed = true;  // nothing written since the last flush
  uint64_t bytes_in = 0, bytes_out = 0;

  void reset_stream() noexcept {
    enc.reset();
    stats = {};
    pending.clear();
    pending_pos = 0;
    flushed = true;
    bytes_in = bytes_out = 0;
    clear_error();
  }

  Status start() {
    sibyl::EncodeOptions o;
    o.level = level;
    o.threads = threads;
    o.verify = verify;
    o.block_log = block_log;
    o.hooks = hooks.active() ? &hooks : nullptr;
    o.kind = type_hint == SIBYL_TYPE_AUTO     ? sibyl::DataKind::kAuto
             : type_hint == SIBYL_TYPE_TENSOR ? sibyl::DataKind::kTensor
             : type_hint == SIBYL_TYPE_AUDIO  ? sibyl::DataKind::kAudio
             : type_hint == SIBYL_TYPE_IMAGE  ? sibyl::DataKind::kImage
                                              : sibyl::DataKind::kBytes;
    if (tensor_dtype != SIBYL_X_DTYPE_NONE) o.kind = sibyl::DataKind::kTensor;
    if (audio_sample != SIBYL_X_SAMPLE_NONE) o.kind = sibyl::DataKind::kAudio;
    o.audio_sample = static_cast<sibyl::audio::Sample>(audio_sample);
    o.audio_channels = audio_channels;
    if (image_width != 0) o.kind = sibyl::DataKind::kImage;
    o.image_width = image_width;
    o.image_height = image_height;
    o.image_channels = image_channels;
    o.image_depth = image_depth;
    o.tensor_dtype = static_cast<sibyl::tensor::DType>(tensor_dtype);
    o.tensor_row = tensor_row;
    o.tensor_tokens = tensor_tokens;
    o.tensor_layer = tensor_layer;
    o.tensor_kv = tensor_kv;
    o.error_mode = error_mode;
    o.prior_hash = prior_hash;
    o.prior_adapt = prior_adapt;
    o.frame_flags = frame_flags;
    o.error_bound = error_bound;
    o.vq = vq;
    if (memory_limit != 0) {
      // What one worker needs with the block size actually used; verify
      // decodes every block into one more block-sized buffer.
      sibyl::LevelPreset p = sibyl::level_preset(level, error_mode != 0);
      if (block_log != 0) p.block_log = static_cast<uint8_t>(block_log);
      const uint64_t worker = p.worker_memory() + (verify ? uint64_t(1) << p.block_log : 0);
      if (worker > memory_limit)
        return sibyl::Error(ErrorCode::kMemoryLimit, "level " + std::to_string(level) + " needs " +
                                                         std::to_string((worker + (1u << 20) - 1) >> 20) +
                                                         " MiB per thread, above the memory limit");
      o.threads = static_cast<int>(std::min<uint64_t>(static_cast<uint64_t>(threads), memory_limit / worker));
    }
    bytes_in = bytes_out = 0;  // progress counts the current stream
    stats = {};
    enc = std::make_unique<sibyl::FrameEncoder>(o, [this](std::span<const uint8_t> b) {
      pending.insert(pending.end(), b.begin(), b.end());
      return Status::Ok();
    });
    return Status::Ok();
  }

  void drain(sibyl_out_buffer* out) {
    const size_t k = std::min(pending.size() - pending_pos, out->size - out->pos);
    if (k > 0) std::memcpy(static_cast<uint8_t*>(out->dst) + out->pos, pending.data() + pending_pos, k);
    out->pos += k;
    pending_pos += k;
    bytes_out += k;
    if (pending_pos == pending.size()) {
      pending.clear();
      pending_pos = 0;
    }
  }

  Status run(sibyl_out_buffer* out, sibyl_in_buffer* in, sibyl_end_directive directive, size_t* remaining) {
    if (!enc) {
      if (in->pos == in->size && directive == SIBYL_CONTINUE) return Status::Ok();  // nothing starts a stream yet
      SIBYL_RETURN_IF_ERROR(start());
    }
    for (;;) {
      drain(out);
      stats = enc->lossy_stats();
      if (pending_pos < pending.size()) break;  // output full
      if (enc->finished()) {
        // The frame is complete and handed out: ready for the next one.
        enc.reset();
        flushed = true;
        break;
      }
      if (in->pos < in->size) {
        // No more than the encoder takes before its next batch, so at most
        // one batch of compressed output is ever buffered here.
        const size_t take = std::min(enc->input_capacity(), in->size - in->pos);
        SIBYL_RETURN_IF_ERROR(enc->write({static_cast<const uint8_t*>(in->src) + in->pos, take}));
        in->pos += take;
        bytes_in += take;
        flushed = false;
        continue;
      }
      if (directive == SIBYL_END) {
        SIBYL_RETURN_IF_ERROR(enc->finish());
        stats = enc->lossy_stats();
        continue;
      }
      if (directive == SIBYL_FLUSH && !flushed) {
        SIBYL_RETURN_IF_ERROR(enc->flush());
        flushed = true;
        continue;
      }
      break;
    }
    if (remaining != nullptr) {
      size_t r = pending.size() - pending_pos;
      // An END whose frame is not complete yet still has bytes to come.
      if (r == 0 && directive == SIBYL_END && enc) r = 1;
      *remaining = r;
    }
    return Status::Ok();
  }
};

struct sibyl_dstream : ContextBase {
  explicit sibyl_dstream(const sibyl::MemoryHooks& h) : ContextBase(h) {}

  int threads = 1;
  uint64_t memory_limit = sibyl::kDefaultMemoryLimit;

  std::unique_ptr<sibyl::StreamDecoder> dec;
  uint64_t bytes_out = 0;

  void reset_stream() noexcept {
    dec.reset();
    bytes_out = 0;
    clear_error();
  }
  void start() {
    bytes_out = 0;
    sibyl::DecodeOptions o;
    o.threads = threads;
    o.memory_limit = memory_limit;
    o.hooks = hooks.active() ? &hooks : nullptr;
    dec = std::make_unique<sibyl::StreamDecoder>(o);
  }

  // Copies ready output; false when out is full with output left over.
  bool drain(sibyl_out_buffer* out) {
    for (auto ready = dec->output(); !ready.empty(); ready = dec->output()) {
      const size_t k = std::min(ready.size(), out->size - out->pos);
      if (k == 0) return false;
      std::memcpy(static_cast<uint8_t*>(out->dst) + out->pos, ready.data(), k);
      out->pos += k;
      bytes_out += k;
      dec->consume(k);
    }
    return true;
  }

  Status run(sibyl_out_buffer* out, sibyl_in_buffer* in, int* at_end) {
    if (!dec) start();
    // Only a call that brings no input decodes a batch that is not full
    // (the caller has nothing more for now, e.g. after a flush); a call with
    // input keeps waiting for a full batch, so threads stay busy.
    const bool had_input = in->pos < in->size;
    for (;;) {
      if (!drain(out)) break;
      std::span<const uint8_t> span(static_cast<const uint8_t*>(in->src) + in->pos, in->size - in->pos);
      const size_t before = span.size();
      if (before == 0 && had_input) break;
      SIBYL_RETURN_IF_ERROR(dec->feed(&span));
      in->pos += before - span.size();
      if (before == 0 && dec->output().empty()) break;  // nothing more to do without input
    }
    if (at_end != nullptr) *at_end = dec->at_end() ? 1 : 0;
    return Status::Ok();
  }
};

// ---------------------------------------------------------------- version, errors

extern "C" {

unsigned sibyl_version_number(void) { return SIBYL_VERSION_NUMBER; }
const char* sibyl_version_string(void) { return SIBYL_VERSION_TEXT; }

const char* sibyl_error_name(int code) {
  if (code < 0 || code > SIBYL_ERROR_STAGE_WRONG) return "unknown";
  return sibyl::error_code_name(static_cast<ErrorCode>(code));
}

// ---------------------------------------------------------------- one-shot

size_t sibyl_compress_bound(size_t src_size) {
  // Every block costs at most its header (with the largest parameter
  // field) and its index entry on top of its bytes (the store fallback
  // guarantees that); the frame adds its header, end record and footer.
  int min_block_log = sibyl::format::kMaxBlockLog;
  for (int l = sibyl::kMinLevel; l <= sibyl::kMaxLevel; ++l)
    min_block_log = std::min<int>(min_block_log, sibyl::level_preset(l).block_log);
  const uint64_t blocks = (uint64_t(src_size) >> min_block_log) + 1;
  const uint64_t per_block = sibyl::format::kBlockHeaderFixedSize + 255 + sibyl::format::kIndexEntrySize;
  const uint64_t fixed = sibyl::format::kFrameHeaderSize + sibyl::format::kEndFixedSize + sibyl::format::kFooterSize;
  const uint64_t extra = fixed + blocks * per_block;
  if (uint64_t(src_size) > std::numeric_limits<size_t>::max() - extra) return 0;
  return static_cast<size_t>(src_size + extra);
}

int sibyl_compress(void* dst, size_t dst_capacity, size_t* dst_size, const void* src, size_t src_size, int level) {
  if (dst_size == nullptr || (dst == nullptr && dst_capacity > 0) || (src == nullptr && src_size > 0))
    return SIBYL_ERROR_INVALID_ARGUMENT;
  *dst_size = 0;
  if (level < SIBYL_LEVEL_MIN || level > SIBYL_LEVEL_MAX) return SIBYL_ERROR_INVALID_ARGUMENT;
  size_t written = 0;
  const Status s = guarded([&]() -> Status {
    sibyl::EncodeOptions o;
    o.level = level;
    sibyl::FrameEncoder enc(o, [&](std::span<const uint8_t> b) -> Status {
      if (b.size() > dst_capacity - written) return sibyl::Error(ErrorCode::kDstTooSmall, "output buffer too small");
      if (!b.empty()) std::memcpy(static_cast<uint8_t*>(dst) + written, b.data(), b.size());
      written += b.size();
      return Status::Ok();
    });
    SIBYL_RETURN_IF_ERROR(enc.write({static_cast<const uint8_t*>(src), src_size}));
    return enc.finish();
  });
  if (!s.ok()) return code_of(s);
  *dst_size = written;
  return SIBYL_OK;
}

int sibyl_decompress(void* dst, size_t dst_capacity, size_t* dst_size, const void* src, size_t src_size) {
  if (dst_size == nullptr || (dst == nullptr && dst_capacity > 0) || (src == nullptr && src_size > 0))
    return SIBYL_ERROR_INVALID_ARGUMENT;
  *dst_size = 0;
  size_t written = 0;
  const Status s = guarded([&]() -> Status {
    sibyl::StreamDecoder dec{sibyl::DecodeOptions{}};
    std::span<const uint8_t> in(static_cast<const uint8_t*>(src), src_size);
    for (bool last = false;;) {
      SIBYL_RETURN_IF_ERROR(dec.feed(&in));
      for (auto out = dec.output(); !out.empty(); out = dec.output()) {
        if (out.size() > dst_capacity - written) return sibyl::Error(ErrorCode::kDstTooSmall, "output buffer too small");
        std::memcpy(static_cast<uint8_t*>(dst) + written, out.data(), out.size());
        written += out.size();
        dec.consume(out.size());
      }
      if (in.empty()) {
        if (last) break;
        last = true;  // one more call with no input decodes a partial batch
      }
    }
    return dec.finish();
  });
  if (!s.ok()) return code_of(s);
  *dst_size = written;
  return SIBYL_OK;
}

namespace {
class SpanRandomAccess : public sibyl::RandomAccessSource {
 public:
  explicit SpanRandomAccess(std::span<const uint8_t> d) : d_(d) {}
  uint64_t size() const override { return d_.size(); }
  Status read_at(uint64_t offset, uint8_t* buf, size_t n) override {
    std::memcpy(buf, d_.data() + offset, n);
    return Status::Ok();
  }

 private:
  std::span<const uint8_t> d_;
};
}  // namespace

int sibyl_content_size(const void* src, size_t src_size, uint64_t* content_size) {
  if (content_size == nullptr || (src == nullptr && src_size > 0)) return SIBYL_ERROR_INVALID_ARGUMENT;
  *content_size = 0;
  uint64_t total = 0;
  const Status s = guarded([&]() -> Status {
    SpanRandomAccess ra({static_cast<const uint8_t*>(src), src_size});
    std::vector<sibyl::FrameListing> frames;
    SIBYL_RETURN_IF_ERROR(sibyl::list_archive(ra, &frames));
    for (const auto& f : frames) {
      if (f.end.content_size > UINT64_MAX - total) return sibyl::Error(ErrorCode::kCorrupt, "content size overflows");
      total += f.end.content_size;
    }
    return Status::Ok();
  });
  if (!s.ok()) return code_of(s);
  *content_size = total;
  return SIBYL_OK;
}

// ---------------------------------------------------------------- compression stream

sibyl_cstream* sibyl_cstream_create(void) { return create_context<sibyl_cstream>(nullptr); }
sibyl_cstream* sibyl_cstream_create_with(const sibyl_allocator* allocator) { return create_context<sibyl_cstream>(allocator); }
void sibyl_cstream_free(sibyl_cstream* cs) { destroy_context(cs); }

int sibyl_cstream_set_param(sibyl_cstream* cs, sibyl_param param, long long value) {
  if (cs == nullptr) return SIBYL_ERROR_INVALID_ARGUMENT;
  return set_param_with(cs, cs->enc != nullptr, [&]() -> Status {
    Status s;
    switch (static_cast<int>(param)) {
      case SIBYL_PARAM_LEVEL:
        s = check_range("level", value, SIBYL_LEVEL_MIN, SIBYL_LEVEL_MAX);
        if (s.ok()) cs->level = static_cast<int>(value);
        break;
      case SIBYL_PARAM_THREADS:
        s = check_range("threads", value, 1, kMaxThreads);
        if (s.ok()) cs->threads = static_cast<int>(value);
        break;
      case SIBYL_PARAM_TYPE_HINT:
        s = check_type_hint(value);
        if (s.ok()) cs->type_hint = static_cast<int>(value);
        break;
      case SIBYL_PARAM_X_TENSOR_DTYPE:
        s = check_range("tensor element type", value, SIBYL_X_DTYPE_NONE, SIBYL_X_DTYPE_U32);
        if (s.ok()) cs->tensor_dtype = static_cast<int>(value);
        break;
      case SIBYL_PARAM_X_AUDIO_SAMPLE:
        s = check_range("audio sample format", value, SIBYL_X_SAMPLE_NONE, SIBYL_X_SAMPLE_F32LE);
        if (s.ok()) cs->audio_sample = static_cast<int>(value);
        break;
      case SIBYL_PARAM_X_AUDIO_CHANNELS:
        s = check_range("audio channels", value, 1, sibyl::audio::kMaxChannels);
        if (s.ok()) cs->audio_channels = static_cast<unsigned>(value);
        break;
      case SIBYL_PARAM_X_IMAGE_WIDTH:
        s = check_range("image width", value, 0, static_cast<long long>(sibyl::image::kMaxRowSamples));
        if (s.ok()) cs->image_width = static_cast<uint32_t>(value);
        break;
      case SIBYL_PARAM_X_IMAGE_HEIGHT:
        s = check_range("image height", value, 0, 1ll << 48);
        if (s.ok()) cs->image_height = static_cast<uint64_t>(value);
        break;
      case SIBYL_PARAM_X_IMAGE_CHANNELS:
        s = check_range("image channels", value, 1, sibyl::image::kMaxChannels);
        if (s.ok()) cs->image_channels = static_cast<unsigned>(value);
        break;
      case SIBYL_PARAM_X_PC_ADAPT:
        s = (value == 0 || value == 1) ? Status::Ok()
                                       : sibyl::Error(ErrorCode::kInvalidArgument, "pc adapt must be 0 or 1");
        if (s.ok()) cs->prior_adapt = value == 1;
        break;
      case SIBYL_PARAM_X_PNG_PIXELS:
        s = check_range("png pixels flag", value, 0, 1);
        if (s.ok()) cs->frame_flags = value != 0 ? sibyl::format::kFlagPngPixels : 0;
        break;
      case SIBYL_PARAM_X_IMAGE_DEPTH:
        s = (value == 8 || value == 16) ? Status::Ok()
                                        : sibyl::Error(ErrorCode::kInvalidArgument,
                                                       "image depth must be 8 or 16, not " + std::to_string(value));
        if (s.ok()) cs->image_depth = static_cast<unsigned>(value);
        break;
      case SIBYL_PARAM_X_TENSOR_ROW:
        s = check_range("tensor row length", value, 1, 1ll << 48);
        if (s.ok()) cs->tensor_row = static_cast<uint64_t>(value);
        break;
      case SIBYL_PARAM_X_TENSOR_KV:
        s = check_range("tensor KV flag", value, 0, 1);
        if (s.ok()) cs->tensor_kv = value != 0;
        break;
      case SIBYL_PARAM_X_TENSOR_TOKENS:
        s = check_range("tensor tokens", value, 0, 1ll << 48);
        if (s.ok()) cs->tensor_tokens = static_cast<uint64_t>(value);
        break;
      case SIBYL_PARAM_X_TENSOR_LAYER:
        s = check_range("tensor layer elements", value, 0, 1ll << 48);
        if (s.ok()) cs->tensor_layer = static_cast<uint64_t>(value);
        break;
      case SIBYL_PARAM_MEMORY_LIMIT_MIB:
        s = check_range("memory limit (MiB)", value, 0, 1ll << 40);
        if (s.ok()) cs->memory_limit = uint64_t(value) << 20;
        break;
      case SIBYL_PARAM_VERIFY:
        s = check_range("verify", value, 0, 1);
        if (s.ok()) cs->verify = value != 0;
        break;
      case SIBYL_PARAM_X_BLOCK_LOG:
        s = value == 0 ? Status::Ok() : check_range("block log", value, sibyl::format::kMinBlockLog, sibyl::format::kMaxBlockLog);
        if (s.ok()) cs->block_log = static_cast<int>(value);
        break;
      default:
        s = sibyl::Error(ErrorCode::kInvalidArgument, "unknown parameter " + std::to_string(static_cast<int>(param)));
    }
    return s;
  });
}

int sibyl_cstream_reset(sibyl_cstream* cs) {
  if (cs == nullptr) return SIBYL_ERROR_INVALID_ARGUMENT;
  cs->reset_stream();
  return SIBYL_OK;
}

int sibyl_compress_stream(sibyl_cstream* cs, sibyl_out_buffer* out, sibyl_in_buffer* in, sibyl_end_directive directive,
                          size_t* remaining) {
  if (remaining != nullptr) *remaining = 0;
  if (cs == nullptr) return SIBYL_ERROR_INVALID_ARGUMENT;
  if (!cs->error.ok()) return code_of(cs->error);
  if (!valid_in(in) || !valid_out(out) ||
      (directive != SIBYL_CONTINUE && directive != SIBYL_FLUSH && directive != SIBYL_END)) {
    set_message(cs->message, "invalid buffer or directive");
    return SIBYL_ERROR_INVALID_ARGUMENT;
  }
  const Status s = guarded([&] { return cs->run(out, in, directive, remaining); });
  return s.ok() ? SIBYL_OK : cs->fail(s);
}

const char* sibyl_cstream_message(const sibyl_cstream* cs) { return cs == nullptr ? "" : cs->message.c_str(); }

void sibyl_cstream_progress(const sibyl_cstream* cs, uint64_t* bytes_in, uint64_t* bytes_out) {
  if (bytes_in != nullptr) *bytes_in = cs ? cs->bytes_in : 0;
  if (bytes_out != nullptr) *bytes_out = cs ? cs->bytes_out : 0;
}

// ---------------------------------------------------------------- decompression stream

sibyl_dstream* sibyl_dstream_create(void) { return create_context<sibyl_dstream>(nullptr); }
sibyl_dstream* sibyl_dstream_create_with(const sibyl_allocator* allocator) { return create_context<sibyl_dstream>(allocator); }
void sibyl_dstream_free(sibyl_dstream* ds) { destroy_context(ds); }

int sibyl_dstream_set_param(sibyl_dstream* ds, sibyl_param param, long long value) {
  if (ds == nullptr) return SIBYL_ERROR_INVALID_ARGUMENT;
  return set_param_with(ds, ds->dec != nullptr, [&]() -> Status {
  Status s;
  switch (static_cast<int>(param)) {
    case SIBYL_PARAM_THREADS:
      s = check_range("threads", value, 1, kMaxThreads);
      if (s.ok()) ds->threads = static_cast<int>(value);
      break;
    case SIBYL_PARAM_MEMORY_LIMIT_MIB:
      s = check_range("memory limit (MiB)", value, 0, 1ll << 40);
      if (s.ok()) ds->memory_limit = value == 0 ? sibyl::kDefaultMemoryLimit : uint64_t(value) << 20;
      break;
    default:
      s = sibyl::Error(ErrorCode::kInvalidArgument,
                       "parameter " + std::to_string(static_cast<int>(param)) + " does not apply to decompression");
  }
  return s;
  });
}

int sibyl_dstream_reset(sibyl_dstream* ds) {
  if (ds == nullptr) return SIBYL_ERROR_INVALID_ARGUMENT;
  ds->reset_stream();
  return SIBYL_OK;
}

int sibyl_decompress_stream(sibyl_dstream* ds, sibyl_out_buffer* out, sibyl_in_buffer* in, int* at_end) {
  if (at_end != nullptr) *at_end = 0;
  if (ds == nullptr) return SIBYL_ERROR_INVALID_ARGUMENT;
  if (!ds->error.ok()) return code_of(ds->error);
  if (!valid_in(in) || !valid_out(out)) {
    set_message(ds->message, "invalid buffer");
    return SIBYL_ERROR_INVALID_ARGUMENT;
  }
  const Status s = guarded([&] { return ds->run(out, in, at_end); });
  if (!s.ok()) return ds->fail(s);
  return SIBYL_OK;
}

int sibyl_decompress_stream_end(sibyl_dstream* ds) {
  if (ds == nullptr) return SIBYL_ERROR_INVALID_ARGUMENT;
  if (!ds->error.ok()) return code_of(ds->error);
  const Status s = guarded([&] {
    if (!ds->dec) ds->start();
    return ds->dec->finish();
  });
  if (s.code() == ErrorCode::kStage) {
    // Output still waiting: a caller error, not a verdict on the stream.
    set_message(ds->message, s.message());
    return code_of(s);
  }
  if (!s.ok()) return ds->fail(s);
  return SIBYL_OK;
}

const char* sibyl_dstream_message(const sibyl_dstream* ds) { return ds == nullptr ? "" : ds->message.c_str(); }

void sibyl_dstream_progress(const sibyl_dstream* ds, uint64_t* bytes_in, uint64_t* bytes_out) {
  if (bytes_in != nullptr) *bytes_in = ds && ds->dec ? ds->dec->stats().bytes_in : 0;
  if (bytes_out != nullptr) *bytes_out = ds ? ds->bytes_out : 0;
}

// ---------------------------------------------------------------- experimental

int sibyl_cstream_set_prior(sibyl_cstream* cs, const void* prior, size_t size) {
  if (cs == nullptr || (prior == nullptr && size > 0)) return SIBYL_ERROR_INVALID_ARGUMENT;
  return set_param_with(cs, cs->enc != nullptr, [&]() -> Status {
    if (size == 0) {
      cs->prior_hash = 0;
      return Status::Ok();
    }
    uint64_t hash = 0;
    SIBYL_RETURN_IF_ERROR(sibyl::pc::register_prior({static_cast<const uint8_t*>(prior), size}, &hash));
    cs->prior_hash = hash;
    return Status::Ok();
  });
}

int sibyl_dstream_set_prior(sibyl_dstream* ds, const void* prior, size_t size) {
  if (ds == nullptr || (prior == nullptr && size > 0)) return SIBYL_ERROR_INVALID_ARGUMENT;
  return set_param_with(ds, ds->dec != nullptr, [&]() -> Status {
    if (size == 0) return Status::Ok();
    uint64_t hash = 0;
    return sibyl::pc::register_prior({static_cast<const uint8_t*>(prior), size}, &hash);
  });
}

int sibyl_cstream_set_error_bound(sibyl_cstream* cs, int mode, double bound) {
  if (cs == nullptr) return SIBYL_ERROR_INVALID_ARGUMENT;
  return set_param_with(cs, cs->enc != nullptr, [&]() -> Status {
    if ((mode != 0 && mode != 1 && mode != 2) || (mode != 0 && !(bound > 0 && bound < 1e300)))
      return sibyl::Error(ErrorCode::kInvalidArgument, "error bound: mode 0 (lossless), 1 (absolute) or 2 (relative), "
                                                       "and a bound > 0");
    cs->error_mode = mode;
    cs->error_bound = mode == 0 ? 0.0 : bound;
    return Status::Ok();
  });
}

int sibyl_cstream_set_vq(sibyl_cstream* cs, int dim, int stages, int codebook) {
  if (cs == nullptr) return SIBYL_ERROR_INVALID_ARGUMENT;
  return set_param_with(cs, cs->enc != nullptr, [&]() -> Status {
    if (dim == 0) {
      if (cs->error_mode == sibyl::tensor::ErrorBound::kVectors) cs->error_mode = 0;
      return Status::Ok();
    }
    const sibyl::tensor::VqShape v{dim, stages, codebook};
    if (!sibyl::tensor::vq_shape_valid(v))
      return sibyl::Error(ErrorCode::kInvalidArgument,
                          "vector quantisation: dim 1.." + std::to_string(sibyl::tensor::kVqMaxDim) + ", stages 1.." +
                              std::to_string(sibyl::tensor::kVqMaxStages) + ", codebook 2.." +
                              std::to_string(sibyl::tensor::kVqMaxK) + ", dim x stages x codebook at most " +
                              std::to_string(sibyl::tensor::kVqMaxCodebook));
    cs->error_mode = sibyl::tensor::ErrorBound::kVectors;
    cs->error_bound = 0;
    cs->vq = v;
    return Status::Ok();
  });
}

int sibyl_cstream_lossy_error(const sibyl_cstream* cs, uint64_t* elements, double* max_abs, double* rms,
                              double* signal_rms) {
  if (cs == nullptr) return SIBYL_ERROR_INVALID_ARGUMENT;
  const sibyl::tensor::LossyStats& s = cs->stats;
  const double n = s.elements > 0 ? static_cast<double>(s.elements) : 1.0;
  if (elements != nullptr) *elements = s.elements;
  if (max_abs != nullptr) *max_abs = s.max_abs_error;
  if (rms != nullptr) *rms = std::sqrt(s.sum_sq_error / n);
  if (signal_rms != nullptr) *signal_rms = std::sqrt(s.sum_sq_value / n);
  return SIBYL_OK;
}

uint64_t sibyl_level_memory(int level) {
  if (level < SIBYL_LEVEL_MIN || level > SIBYL_LEVEL_MAX) return 0;
  return sibyl::level_preset(level).worker_memory();
}

}  // extern "C"
