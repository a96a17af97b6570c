#include "engine/decoder.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <string>

#include "codecs/codec.h"
#include "common/checksum.h"
#include "common/zeroed_buffer.h"
#include "engine/parallel.h"
#include "format/container.h"

namespace sibyl {

Status SpanSource::read(uint8_t* buf, size_t n, size_t* got) {
  const size_t k = std::min(n, data_.size() - pos_);
  if (k > 0) std::memcpy(buf, data_.data() + pos_, k);
  pos_ += k;
  *got = k;
  return Status::Ok();
}

namespace {

std::string mib(uint64_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }

struct PendingBlock {
  format::BlockHeader header;
  const Codec* codec = nullptr;
  std::vector<uint8_t> payload;
  // Zero pages from the kernel, not a memset: a block claiming a large size
  // costs nothing until its bytes are actually decoded (a corrupt or
  // hostile block fails long before).
  ZeroedBuffer output;
  std::span<uint8_t> out() const { return {output.as<uint8_t>(), header.original_size}; }
  Status status;
};

enum class Stage {
  kFrameHeader,  // 16 bytes
  kKind,         // 1 byte: block or end record
  kBlockHeader,  // 4 bytes, then the rest of the header
  kPayload,      // coded_size bytes
  kEndRecord,    // 5 bytes, then the index and check
  kFooter,       // 16 bytes
};

}  // namespace

struct StreamDecoder::State {
  DecodeOptions opt;
  DecodeStats stats;
  Status error;  // sticky
  Stage stage = Stage::kFrameHeader;
  std::vector<uint8_t> hold;  // bytes of the header or record being gathered
  size_t need = format::kFrameHeaderSize;

  // The current frame.
  format::FrameHeader fh;
  uint64_t declared = 0, buffers = 0;
  uint64_t frame_bytes = 0;
  int threads = 1;
  Xxh64Stream content;
  uint64_t content_size = 0;
  std::vector<format::IndexEntry> seen;
  format::EndRecord end;

  std::vector<PendingBlock> batch;  // read, not yet decoded
  PendingBlock* filling = nullptr;  // the block whose payload is being read

  // Decoded blocks whose bytes have not all been taken.
  std::vector<PendingBlock> ready;
  size_t ready_block = 0, ready_pos = 0;

  bool output_pending() const { return ready_block < ready.size(); }

  Status fail(Status s) {
    error = s;
    return s;
  }

  // Copies from *in into dst until it holds n bytes; true when it does.
  // Capacity grows with what arrives, never beyond n.
  bool gather(std::vector<uint8_t>& dst, size_t n, std::span<const uint8_t>* in) {
    const size_t take = std::min(n - dst.size(), in->size());
    if (dst.capacity() < dst.size() + take) dst.reserve(std::min(n, std::max(2 * dst.capacity(), dst.size() + take)));
    dst.insert(dst.end(), in->begin(), in->begin() + static_cast<std::ptrdiff_t>(take));
    *in = in->subspan(take);
    stats.bytes_in += take;
    frame_bytes += take;
    return dst.size() == n;
  }

  void expect(Stage st, size_t n) {
    stage = st;
    need = n;
    hold.clear();
  }

  Status decode_batch() {
    if (batch.empty()) return Status::Ok();
    run_parallel(batch.size(), threads, [&](size_t i) {
      ScopedMemoryHooks hooks(opt.hooks);
      decode_one(batch[i]);
    });
    ready.clear();
    ready_block = ready_pos = 0;
    for (PendingBlock& b : batch) {
      SIBYL_RETURN_IF_ERROR(b.status);
      content.update(b.out().data(), b.out().size());
      content_size += b.out().size();
      stats.bytes_out += b.out().size();
      ++stats.blocks;
      ready.push_back(std::move(b));
    }
    batch.clear();
    // Blocks of zero bytes cannot occur (the header parser rejects them),
    // but an all-empty ready list must not look like pending output.
    while (ready_block < ready.size() && ready[ready_block].out().empty()) ++ready_block;
    return Status::Ok();
  }

  static void decode_one(PendingBlock& b) {
    try {
      b.output = ZeroedBuffer(b.header.original_size);
      b.status = b.codec->decode(b.header.params, b.payload, b.out());
    } catch (const std::bad_alloc&) {
      b.status = Error(ErrorCode::kOutOfMemory, "out of memory while decoding a block");
      return;
    } catch (...) {
      b.status = Error(ErrorCode::kInternal, "unexpected exception while decoding a block");
      return;
    }
    std::vector<uint8_t>().swap(b.payload);
    if (b.status.ok() && xxh64(b.out().data(), b.out().size()) != b.header.original_hash)
      b.status = Error(ErrorCode::kChecksum, "block checksum mismatch (data is corrupt)");
  }

  Status start_frame() {
    SIBYL_RETURN_IF_ERROR(format::parse_frame_header(hold, &fh));
    declared = uint64_t(fh.memory_kib) * 1024;
    buffers = 2 * (uint64_t(1) << fh.block_log);
    if (declared < buffers) return Error(ErrorCode::kCorrupt, "frame header declares less memory than its blocks need");
    if (declared > opt.memory_limit)
      return Error(ErrorCode::kMemoryLimit, "archive needs " + mib(declared) + " of memory to decode, above the limit of " +
                                                mib(opt.memory_limit) + " (raise it with --memlimit)");
    // Fewer threads when the limit cannot hold one worker per thread.
    uint64_t t = static_cast<uint64_t>(std::max(1, opt.threads));
    t = std::min<uint64_t>(t, opt.memory_limit / declared);
    threads = static_cast<int>(std::max<uint64_t>(1, t));
    content.reset();
    content_size = 0;
    seen.clear();
    return Status::Ok();
  }

  Status block_header() {
    PendingBlock b;
    SIBYL_RETURN_IF_ERROR(format::parse_block_header(hold, fh.block_log, &b.header));
    b.codec = find_codec(b.header.codec);
    if (b.codec == nullptr)
      return Error(ErrorCode::kUnknownCodec,
                   "unknown codec id " + std::to_string(b.header.codec) + " (this build of sibyl is too old for this archive)");
    uint64_t model_memory = 0;
    SIBYL_RETURN_IF_ERROR(b.codec->check_params(b.header.params, &model_memory));
    if (model_memory + buffers > declared) return Error(ErrorCode::kCorrupt, "a block needs more memory than its frame declares");
    if (b.codec->id == kCodecStore && b.header.coded_size != b.header.original_size)
      return Error(ErrorCode::kCorrupt, "stored block size does not match its original size");
    seen.push_back({b.header.codec, b.header.original_size, b.header.coded_size});
    batch.push_back(std::move(b));
    filling = &batch.back();
    expect(Stage::kPayload, filling->header.coded_size);
    return Status::Ok();
  }

  Status end_record() {
    SIBYL_RETURN_IF_ERROR(format::parse_end_record(hold, &end));
    if (end.index.size() != seen.size()) return Error(ErrorCode::kCorrupt, "block index does not match the blocks of its frame");
    for (size_t i = 0; i < seen.size(); ++i) {
      const auto& a = end.index[i];
      const auto& b = seen[i];
      if (a.codec != b.codec || a.original_size != b.original_size || a.coded_size != b.coded_size)
        return Error(ErrorCode::kCorrupt, "block index does not match the blocks of its frame");
    }
    if (end.content_size != content_size) return Error(ErrorCode::kCorrupt, "frame content size does not match its blocks");
    if (end.content_hash != content.digest()) return Error(ErrorCode::kChecksum, "frame content checksum mismatch");
    return Status::Ok();
  }

  Status footer() {
    format::Footer f;
    SIBYL_RETURN_IF_ERROR(format::parse_footer(hold, &f));
    if (f.frame_size != frame_bytes || f.end_size != end.encoded_size())
      return Error(ErrorCode::kCorrupt, "frame footer does not match its frame");
    ++stats.frames;
    return Status::Ok();
  }

  // One step of the state machine; *progressed is false when it needs more
  // input or has output to hand over first.
  Status step(std::span<const uint8_t>* in, bool* progressed) {
    *progressed = false;
    if (output_pending()) return Status::Ok();
    switch (stage) {
      case Stage::kFrameHeader: {
        if (hold.empty()) frame_bytes = 0;
        if (!gather(hold, need, in)) {
          // Reject garbage as soon as the magic can be checked.
          if (hold.size() >= 4 && !format::has_magic(hold)) return not_a_frame();
          return Status::Ok();
        }
        if (!format::has_magic(hold)) return not_a_frame();
        SIBYL_RETURN_IF_ERROR(start_frame());
        expect(Stage::kKind, 1);
        break;
      }
      case Stage::kKind: {
        if (!gather(hold, 1, in)) return Status::Ok();
        if (hold[0] == format::kKindBlock) {
          expect(Stage::kBlockHeader, 4);
          hold.push_back(format::kKindBlock);
        } else if (hold[0] == format::kKindEnd) {
          SIBYL_RETURN_IF_ERROR(decode_batch());
          expect(Stage::kEndRecord, 5);
          hold.push_back(format::kKindEnd);
        } else {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02X", hold[0]);
          return Error(ErrorCode::kCorrupt, std::string("unknown record kind ") + hex + " (corrupt archive)");
        }
        break;
      }
      case Stage::kBlockHeader: {
        if (!gather(hold, need, in)) return Status::Ok();
        if (need == 4) {
          need = format::block_header_size(hold);
          break;
        }
        SIBYL_RETURN_IF_ERROR(block_header());
        break;
      }
      case Stage::kPayload: {
        // Straight into the block's payload, which grows only with the
        // bytes actually received (a header claiming a huge payload costs
        // nothing until the payload arrives).
        if (!gather(filling->payload, need, in)) return Status::Ok();
        filling = nullptr;
        expect(Stage::kKind, 1);
        if (batch.size() == static_cast<size_t>(threads)) SIBYL_RETURN_IF_ERROR(decode_batch());
        break;
      }
      case Stage::kEndRecord: {
        if (!gather(hold, need, in)) return Status::Ok();
        if (need == 5) {
          need = format::kEndFixedSize + size_t(format::end_record_count(hold)) * format::kIndexEntrySize;
          if (format::end_record_count(hold) != seen.size())
            return Error(ErrorCode::kCorrupt, "block index does not match the blocks of its frame");
          break;
        }
        SIBYL_RETURN_IF_ERROR(end_record());
        expect(Stage::kFooter, format::kFooterSize);
        break;
      }
      case Stage::kFooter: {
        if (!gather(hold, need, in)) return Status::Ok();
        SIBYL_RETURN_IF_ERROR(footer());
        expect(Stage::kFrameHeader, format::kFrameHeaderSize);
        break;
      }
    }
    *progressed = true;
    return Status::Ok();
  }

  Status not_a_frame() const {
    if (stats.frames > 0) return Error(ErrorCode::kCorrupt, "trailing data after the last frame is not a sibyl frame");
    return Error(ErrorCode::kNotSibyl, "not a sibyl archive");
  }
};

StreamDecoder::StreamDecoder(const DecodeOptions& options) : s_(new State) { s_->opt = options; }
StreamDecoder::~StreamDecoder() { delete s_; }

Status StreamDecoder::feed(std::span<const uint8_t>* in) {
  State& s = *s_;
  if (!s.error.ok()) return s.error;
  try {
    if (in->empty() && !s.output_pending()) {
      // No more input for now: decode the complete blocks already read
      // (not the one whose payload is still arriving).
      const bool partial = s.stage == Stage::kPayload;
      if (s.batch.size() > (partial ? 1u : 0u)) {
        PendingBlock cur;
        if (partial) {
          cur = std::move(s.batch.back());
          s.batch.pop_back();
        }
        Status st = s.decode_batch();
        if (partial) {
          s.batch.push_back(std::move(cur));
          s.filling = &s.batch.back();
        }
        if (!st.ok()) return s.fail(st);
      }
      return Status::Ok();
    }
    for (;;) {
      bool progressed = false;
      Status st = s.step(in, &progressed);
      if (!st.ok()) return s.fail(st);
      if (!progressed) return Status::Ok();
    }
  } catch (const std::bad_alloc&) {
    return s.fail(Error(ErrorCode::kOutOfMemory, "out of memory while decoding"));
  }
}

std::span<const uint8_t> StreamDecoder::output() const {
  const State& s = *s_;
  if (!s.output_pending()) return {};
  return s.ready[s.ready_block].out().subspan(s.ready_pos);
}

void StreamDecoder::consume(size_t n) {
  State& s = *s_;
  while (n > 0 && s.output_pending()) {
    const size_t left = s.ready[s.ready_block].out().size() - s.ready_pos;
    const size_t k = std::min(n, left);
    s.ready_pos += k;
    n -= k;
    if (s.ready_pos == s.ready[s.ready_block].out().size()) {
      s.ready[s.ready_block].output = ZeroedBuffer();  // release as soon as it is taken
      ++s.ready_block;
      s.ready_pos = 0;
    }
  }
  if (!s.output_pending()) {
    s.ready.clear();
    s.ready_block = s.ready_pos = 0;
  }
}

bool StreamDecoder::at_end() const {
  const State& s = *s_;
  return s.error.ok() && s.stats.frames > 0 && s.stage == Stage::kFrameHeader && s.hold.empty() && !s.output_pending();
}

Status StreamDecoder::finish() {
  State& s = *s_;
  if (!s.error.ok()) return s.error;
  if (at_end()) return Status::Ok();
  if (s.output_pending()) return Error(ErrorCode::kStage, "decoded output has not all been taken");  // not sticky
  static const char* const kWhat[] = {"frame header", "block header", "block header", "block payload", "block index", "frame footer"};
  if (s.stage == Stage::kFrameHeader) {
    if (s.hold.size() < 4 || !format::has_magic(s.hold)) {
      if (s.stats.frames > 0) return s.fail(Error(ErrorCode::kCorrupt, "trailing data after the last frame is not a sibyl frame"));
      return s.fail(Error(ErrorCode::kNotSibyl, s.hold.empty() ? "file is empty, not a sibyl archive" : "not a sibyl archive"));
    }
  }
  return s.fail(Error(ErrorCode::kTruncated, std::string("archive is truncated (") + kWhat[static_cast<int>(s.stage)] + ")"));
}

const DecodeStats& StreamDecoder::stats() const { return s_->stats; }

Status decode_archive(ByteSource& source, const DecodeOptions& options, const Sink& sink, DecodeStats* stats) {
  DecodeStats local;
  if (stats == nullptr) stats = &local;
  *stats = DecodeStats{};
  StreamDecoder dec(options);
  constexpr size_t kChunk = size_t(1) << 20;
  std::vector<uint8_t> buf(kChunk);
  Status st;
  for (bool eof = false; !eof;) {
    size_t got = 0;
    st = source.read(buf.data(), buf.size(), &got);
    if (!st.ok()) break;
    eof = got < buf.size();
    std::span<const uint8_t> in(buf.data(), got);
    do {
      st = dec.feed(&in);
      for (auto out = dec.output(); st.ok() && !out.empty(); out = dec.output()) {
        st = sink(out);
        dec.consume(out.size());
      }
    } while (st.ok() && !in.empty());
    *stats = dec.stats();
    if (!st.ok()) return st;
  }
  if (st.ok()) {
    // Blocks still waiting for a full batch.
    std::span<const uint8_t> none;
    st = dec.feed(&none);
    for (auto out = dec.output(); st.ok() && !out.empty(); out = dec.output()) {
      st = sink(out);
      dec.consume(out.size());
    }
  }
  if (st.ok()) st = dec.finish();
  *stats = dec.stats();
  return st;
}

Status decompress_buffer(std::span<const uint8_t> in, const DecodeOptions& options, std::vector<uint8_t>& out) {
  out.clear();
  SpanSource src(in);
  return decode_archive(src, options, [&](std::span<const uint8_t> b) {
    out.insert(out.end(), b.begin(), b.end());
    return Status::Ok();
  }, nullptr);
}

}  // namespace sibyl
