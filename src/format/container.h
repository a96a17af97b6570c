// Container format v1: every header of the archive is written and read by
// exactly one definition here. The byte layout is specified in
// doc/format.md; keep the two in step.
//
//   frame      = frame_header block* end_record footer
//   archive    = frame+          (concatenated frames decode as one stream)
//
// All parse functions work on spans, so the same code serves the pull-based
// file decoder, `sibyl -l` and, later, a push-based streaming API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"

namespace sibyl::format {

inline constexpr uint8_t kMagic[4] = {0x8E, 'S', 'B', 'Y'};
inline constexpr uint32_t kFooterMagic = 0x46594253;  // "SBYF" little-endian
inline constexpr uint8_t kVersion = 1;
inline constexpr int kMinBlockLog = 10;
inline constexpr int kMaxBlockLog = 30;

inline constexpr uint8_t kKindEnd = 0x00;
inline constexpr uint8_t kKindBlock = 0x01;

inline constexpr size_t kFrameHeaderSize = 16;
inline constexpr size_t kBlockHeaderFixedSize = 24;  // without the codec parameters
inline constexpr size_t kEndFixedSize = 25;          // kind, count, content hash, content size, check
inline constexpr size_t kIndexEntrySize = 10;
inline constexpr size_t kFooterSize = 16;

// Frame header flags. Bit 0: the frame's content is the pixels of a PNG
// file in the PNG pixel layout (doc/format.md section 16): the content
// decodes as any other, and a program that restores files writes a PNG
// with those pixels from it (`sibyl --png-pixels`). Other bits: reserved.
inline constexpr uint8_t kFlagPngPixels = 0x01;
inline constexpr uint8_t kKnownFrameFlags = kFlagPngPixels;

struct FrameHeader {
  uint8_t version = kVersion;
  uint8_t flags = 0;
  uint8_t block_log = 24;
  uint8_t level = 0;            // informative: the level that made the frame
  uint32_t memory_kib = 0;      // memory one decoding thread needs, KiB
};

struct BlockHeader {
  uint16_t codec = 0;
  std::vector<uint8_t> params;  // at most 255 bytes
  uint32_t original_size = 0;   // 1 .. 2^block_log
  uint32_t coded_size = 0;      // 0 .. original_size
  uint64_t original_hash = 0;   // xxh64 of the original bytes

  size_t encoded_size() const { return kBlockHeaderFixedSize + params.size(); }
};

struct IndexEntry {
  uint16_t codec = 0;
  uint32_t original_size = 0;
  uint32_t coded_size = 0;
};

struct EndRecord {
  uint64_t content_hash = 0;  // xxh64 of the frame's whole original content
  uint64_t content_size = 0;
  std::vector<IndexEntry> index;

  size_t encoded_size() const { return kEndFixedSize + index.size() * kIndexEntrySize; }
};

struct Footer {
  uint64_t frame_size = 0;  // bytes of the whole frame, footer included
  uint32_t end_size = 0;    // bytes of the end record
};

void write_frame_header(const FrameHeader& h, std::vector<uint8_t>& out);
void write_block_header(const BlockHeader& h, std::vector<uint8_t>& out);
void write_end_record(const EndRecord& e, std::vector<uint8_t>& out);
void write_footer(const Footer& f, std::vector<uint8_t>& out);

// True if `data` starts with the frame magic (needs 4 bytes).
bool has_magic(std::span<const uint8_t> data);

// Parses the kFrameHeaderSize bytes of a frame header.
Status parse_frame_header(std::span<const uint8_t> data, FrameHeader* out);

// Size of a block header given its first 4 bytes (kind, codec, params len).
size_t block_header_size(std::span<const uint8_t> first4);

// Parses a complete block header (kind byte included) and checks its
// sizes against the frame's block_log.
Status parse_block_header(std::span<const uint8_t> data, int block_log, BlockHeader* out);

// Number of index entries given the first 5 bytes of an end record.
uint32_t end_record_count(std::span<const uint8_t> first5);

// Parses a complete end record (kind byte included).
Status parse_end_record(std::span<const uint8_t> data, EndRecord* out);

Status parse_footer(std::span<const uint8_t> data, Footer* out);


}  // namespace sibyl::format
