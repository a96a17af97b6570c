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

class Decoder {
 public:
  Decoder(ByteSource& src, const DecodeOptions& opt, const Sink& sink, DecodeStats* stats)
      : src_(src), opt_(opt), sink_(sink), stats_(stats) {}

  Status run() {
    for (;;) {
      uint8_t hdr[format::kFrameHeaderSize];
      size_t got = 0;
      SIBYL_RETURN_IF_ERROR(read_some(hdr, sizeof hdr, &got));
      if (got == 0 && stats_->frames > 0) return Status::Ok();
      if (got < 4 || !format::has_magic({hdr, got})) {
        if (stats_->frames > 0) return Error(ErrorCode::kCorrupt, "trailing data after the last frame is not a sibyl frame");
        return Error(ErrorCode::kNotSibyl, got == 0 ? "file is empty, not a sibyl archive" : "not a sibyl archive");
      }
      if (got < sizeof hdr) return Error(ErrorCode::kTruncated, "archive is truncated (frame header)");
      SIBYL_RETURN_IF_ERROR(frame({hdr, sizeof hdr}));
      ++stats_->frames;
    }
  }

 private:
  Status read_some(uint8_t* buf, size_t n, size_t* got) {
    SIBYL_RETURN_IF_ERROR(src_.read(buf, n, got));
    stats_->bytes_in += *got;
    frame_bytes_ += *got;
    return Status::Ok();
  }

  Status read_exact(uint8_t* buf, size_t n, const char* what) {
    size_t got = 0;
    SIBYL_RETURN_IF_ERROR(read_some(buf, n, &got));
    if (got != n) return Error(ErrorCode::kTruncated, std::string("archive is truncated (") + what + ")");
    return Status::Ok();
  }

  // Reads n bytes into v, growing it chunk by chunk so a truncated archive
  // that claims a huge payload never makes us allocate the claim up front.
  Status read_payload(std::vector<uint8_t>& v, size_t n) {
    constexpr size_t kChunk = size_t(1) << 20;
    v.clear();
    while (v.size() < n) {
      const size_t take = std::min(kChunk, n - v.size());
      const size_t old = v.size();
      v.resize(old + take);
      SIBYL_RETURN_IF_ERROR(read_exact(v.data() + old, take, "block payload"));
    }
    return Status::Ok();
  }

  Status frame(std::span<const uint8_t> header_bytes) {
    frame_bytes_ = header_bytes.size();
    format::FrameHeader fh;
    SIBYL_RETURN_IF_ERROR(format::parse_frame_header(header_bytes, &fh));
    const uint64_t declared = uint64_t(fh.memory_kib) * 1024;
    const uint64_t buffers = 2 * (uint64_t(1) << fh.block_log);
    if (declared < buffers) return Error(ErrorCode::kCorrupt, "frame header declares less memory than its blocks need");
    if (declared > opt_.memory_limit)
      return Error(ErrorCode::kMemoryLimit, "archive needs " + mib(declared) + " of memory to decode, above the limit of " +
                                                mib(opt_.memory_limit) + " (raise it with --memlimit)");
    // Fewer threads when the limit cannot hold one worker per thread.
    uint64_t threads = static_cast<uint64_t>(std::max(1, opt_.threads));
    threads = std::min<uint64_t>(threads, opt_.memory_limit / declared);
    threads_ = static_cast<int>(std::max<uint64_t>(1, threads));

    Xxh64Stream content;
    uint64_t content_size = 0;
    std::vector<format::IndexEntry> seen;
    std::vector<PendingBlock> batch;
    auto flush = [&]() -> Status {
      run_parallel(batch.size(), threads_, [&](size_t i) { decode_one(batch[i]); });
      for (PendingBlock& b : batch) {
        SIBYL_RETURN_IF_ERROR(b.status);
        content.update(b.out().data(), b.out().size());
        content_size += b.out().size();
        stats_->bytes_out += b.out().size();
        ++stats_->blocks;
        SIBYL_RETURN_IF_ERROR(sink_(b.out()));
      }
      batch.clear();
      return Status::Ok();
    };

    for (;;) {
      uint8_t kind = 0;
      SIBYL_RETURN_IF_ERROR(read_exact(&kind, 1, "block header"));
      if (kind == format::kKindBlock) {
        uint8_t buf[format::kBlockHeaderFixedSize + 255];
        buf[0] = kind;
        SIBYL_RETURN_IF_ERROR(read_exact(buf + 1, 3, "block header"));
        const size_t size = format::block_header_size({buf, 4});
        SIBYL_RETURN_IF_ERROR(read_exact(buf + 4, size - 4, "block header"));
        PendingBlock b;
        SIBYL_RETURN_IF_ERROR(format::parse_block_header({buf, size}, fh.block_log, &b.header));
        b.codec = find_codec(b.header.codec);
        if (b.codec == nullptr)
          return Error(ErrorCode::kUnknownCodec, "unknown codec id " + std::to_string(b.header.codec) +
                                                     " (this build of sibyl is too old for this archive)");
        uint64_t model_memory = 0;
        SIBYL_RETURN_IF_ERROR(b.codec->check_params(b.header.params, &model_memory));
        if (model_memory + buffers > declared)
          return Error(ErrorCode::kCorrupt, "a block needs more memory than its frame declares");
        if (b.codec->id == kCodecStore && b.header.coded_size != b.header.original_size)
          return Error(ErrorCode::kCorrupt, "stored block size does not match its original size");
        SIBYL_RETURN_IF_ERROR(read_payload(b.payload, b.header.coded_size));
        seen.push_back({b.header.codec, b.header.original_size, b.header.coded_size});
        batch.push_back(std::move(b));
        if (batch.size() == static_cast<size_t>(threads_)) SIBYL_RETURN_IF_ERROR(flush());
      } else if (kind == format::kKindEnd) {
        SIBYL_RETURN_IF_ERROR(flush());
        uint8_t first[5];
        first[0] = kind;
        SIBYL_RETURN_IF_ERROR(read_exact(first + 1, 4, "block index"));
        const uint32_t count = format::end_record_count({first, 5});
        if (count != seen.size()) return Error(ErrorCode::kCorrupt, "block index does not match the blocks of its frame");
        std::vector<uint8_t> rec(format::kEndFixedSize + size_t(count) * format::kIndexEntrySize);
        std::memcpy(rec.data(), first, 5);
        SIBYL_RETURN_IF_ERROR(read_exact(rec.data() + 5, rec.size() - 5, "block index"));
        format::EndRecord end;
        SIBYL_RETURN_IF_ERROR(format::parse_end_record(rec, &end));
        for (size_t i = 0; i < count; ++i) {
          const auto& a = end.index[i];
          const auto& s = seen[i];
          if (a.codec != s.codec || a.original_size != s.original_size || a.coded_size != s.coded_size)
            return Error(ErrorCode::kCorrupt, "block index does not match the blocks of its frame");
        }
        if (end.content_size != content_size) return Error(ErrorCode::kCorrupt, "frame content size does not match its blocks");
        if (end.content_hash != content.digest()) return Error(ErrorCode::kChecksum, "frame content checksum mismatch");
        uint8_t foot[format::kFooterSize];
        SIBYL_RETURN_IF_ERROR(read_exact(foot, sizeof foot, "frame footer"));
        format::Footer f;
        SIBYL_RETURN_IF_ERROR(format::parse_footer(foot, &f));
        if (f.frame_size != frame_bytes_ || f.end_size != rec.size())
          return Error(ErrorCode::kCorrupt, "frame footer does not match its frame");
        return Status::Ok();
      } else {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X", kind);
        return Error(ErrorCode::kCorrupt, std::string("unknown record kind ") + hex + " (corrupt archive)");
      }
    }
  }

  static void decode_one(PendingBlock& b) {
    try {
      b.output = ZeroedBuffer(b.header.original_size);
      b.status = b.codec->decode(b.header.params, b.payload, b.out());
    } catch (const std::bad_alloc&) {
      b.status = Error(ErrorCode::kMemoryLimit, "out of memory while decoding a block");
      return;
    }
    std::vector<uint8_t>().swap(b.payload);
    if (b.status.ok() && xxh64(b.out().data(), b.out().size()) != b.header.original_hash)
      b.status = Error(ErrorCode::kChecksum, "block checksum mismatch (data is corrupt)");
  }

  ByteSource& src_;
  const DecodeOptions& opt_;
  const Sink& sink_;
  DecodeStats* stats_;
  uint64_t frame_bytes_ = 0;
  int threads_ = 1;
};

}  // namespace

Status decode_archive(ByteSource& source, const DecodeOptions& options, const Sink& sink, DecodeStats* stats) {
  DecodeStats local;
  if (stats == nullptr) stats = &local;
  *stats = DecodeStats{};
  return Decoder(source, options, sink, stats).run();
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
