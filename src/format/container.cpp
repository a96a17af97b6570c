#include "format/container.h"

#include <cstdio>
#include <cstring>
#include <string>

#include "common/bytes.h"
#include "common/checksum.h"

namespace sibyl::format {
namespace {

void append_check(std::vector<uint8_t>& out, size_t start) {
  const uint32_t check = header_check(out.data() + start, out.size() - start);
  ByteWriter(out).u32(check);
}

bool check_ok(std::span<const uint8_t> data) {
  const size_t n = data.size() - 4;
  return header_check(data.data(), n) == load_le32(data.data() + n);
}

std::string hex8(unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", v & 0xffu);
  return buf;
}

}  // namespace

void write_frame_header(const FrameHeader& h, std::vector<uint8_t>& out) {
  const size_t start = out.size();
  ByteWriter w(out);
  w.bytes(kMagic, 4);
  w.u8(h.version);
  w.u8(h.flags);
  w.u8(h.block_log);
  w.u8(h.level);
  w.u32(h.memory_kib);
  append_check(out, start);
}

void write_block_header(const BlockHeader& h, std::vector<uint8_t>& out) {
  const size_t start = out.size();
  ByteWriter w(out);
  w.u8(kKindBlock);
  w.u16(h.codec);
  w.u8(static_cast<uint8_t>(h.params.size()));
  w.bytes(h.params.data(), h.params.size());
  w.u32(h.original_size);
  w.u32(h.coded_size);
  w.u64(h.original_hash);
  append_check(out, start);
}

void write_end_record(const EndRecord& e, std::vector<uint8_t>& out) {
  const size_t start = out.size();
  ByteWriter w(out);
  w.u8(kKindEnd);
  w.u32(static_cast<uint32_t>(e.index.size()));
  w.u64(e.content_hash);
  w.u64(e.content_size);
  for (const IndexEntry& x : e.index) {
    w.u16(x.codec);
    w.u32(x.original_size);
    w.u32(x.coded_size);
  }
  append_check(out, start);
}

void write_footer(const Footer& f, std::vector<uint8_t>& out) {
  ByteWriter w(out);
  w.u64(f.frame_size);
  w.u32(f.end_size);
  w.u32(kFooterMagic);
}

bool has_magic(std::span<const uint8_t> data) { return data.size() >= 4 && std::memcmp(data.data(), kMagic, 4) == 0; }

Status parse_frame_header(std::span<const uint8_t> data, FrameHeader* out) {
  if (data.size() < kFrameHeaderSize) return Error(ErrorCode::kTruncated, "archive is truncated (frame header)");
  if (!has_magic(data)) return Error(ErrorCode::kNotSibyl, "not a sibyl archive");
  ByteReader r(data.data() + 4, kFrameHeaderSize - 4);
  FrameHeader h;
  h.version = r.u8();
  h.flags = r.u8();
  h.block_log = r.u8();
  h.level = r.u8();
  h.memory_kib = r.u32();
  // The version is checked before the header check: a newer format may lay
  // out the rest of its header differently.
  if (h.version != kVersion)
    return Error(ErrorCode::kUnsupportedVersion,
                 "unsupported format version " + std::to_string(h.version) + " (this build reads version " + std::to_string(kVersion) + ")");
  if (!check_ok(data.first(kFrameHeaderSize))) return Error(ErrorCode::kCorrupt, "frame header is corrupt (check mismatch)");
  if ((h.flags & ~kKnownFrameFlags) != 0) return Error(ErrorCode::kCorrupt, "frame header has unknown flags " + hex8(h.flags));
  if (h.block_log < kMinBlockLog || h.block_log > kMaxBlockLog)
    return Error(ErrorCode::kCorrupt, "frame header has invalid block size log " + std::to_string(h.block_log));
  *out = h;
  return Status::Ok();
}

size_t block_header_size(std::span<const uint8_t> first4) { return kBlockHeaderFixedSize + first4[3]; }

Status parse_block_header(std::span<const uint8_t> data, int block_log, BlockHeader* out) {
  if (data.size() < 4 || data.size() != block_header_size(data)) return Error(ErrorCode::kInternal, "block header span has wrong size");
  if (data[0] != kKindBlock) return Error(ErrorCode::kInternal, "not a block header");
  if (!check_ok(data)) return Error(ErrorCode::kCorrupt, "block header is corrupt (check mismatch)");
  ByteReader r(data.data() + 1, data.size() - 1);
  BlockHeader h;
  h.codec = r.u16();
  const uint8_t plen = r.u8();
  const uint8_t* p = r.bytes(plen);
  h.params.assign(p, p + plen);
  h.original_size = r.u32();
  h.coded_size = r.u32();
  h.original_hash = r.u64();
  const uint64_t max_block = uint64_t(1) << block_log;
  if (h.original_size == 0 || h.original_size > max_block)
    return Error(ErrorCode::kCorrupt, "block original size " + std::to_string(h.original_size) + " is out of range");
  if (h.coded_size > h.original_size)
    return Error(ErrorCode::kCorrupt, "block coded size " + std::to_string(h.coded_size) + " exceeds its original size");
  *out = std::move(h);
  return Status::Ok();
}

uint32_t end_record_count(std::span<const uint8_t> first5) { return load_le32(first5.data() + 1); }

Status parse_end_record(std::span<const uint8_t> data, EndRecord* out) {
  if (data.size() < kEndFixedSize || data[0] != kKindEnd) return Error(ErrorCode::kInternal, "end record span is wrong");
  const uint32_t count = end_record_count(data);
  if (data.size() != kEndFixedSize + size_t(count) * kIndexEntrySize) return Error(ErrorCode::kInternal, "end record span has wrong size");
  if (!check_ok(data)) return Error(ErrorCode::kCorrupt, "block index is corrupt (check mismatch)");
  ByteReader r(data.data() + 5, data.size() - 5);
  EndRecord e;
  e.content_hash = r.u64();
  e.content_size = r.u64();
  e.index.resize(count);
  for (IndexEntry& x : e.index) {
    x.codec = r.u16();
    x.original_size = r.u32();
    x.coded_size = r.u32();
  }
  *out = std::move(e);
  return Status::Ok();
}

Status parse_footer(std::span<const uint8_t> data, Footer* out) {
  if (data.size() < kFooterSize) return Error(ErrorCode::kTruncated, "archive is truncated (footer)");
  ByteReader r(data.data(), kFooterSize);
  Footer f;
  f.frame_size = r.u64();
  f.end_size = r.u32();
  if (r.u32() != kFooterMagic) return Error(ErrorCode::kCorrupt, "frame footer is corrupt (bad magic)");
  *out = f;
  return Status::Ok();
}

}  // namespace sibyl::format
