#include "engine/listing.h"

#include <algorithm>

namespace sibyl {

Status list_archive(RandomAccessSource& src, std::vector<FrameListing>* frames) {
  frames->clear();
  uint64_t pos = src.size();
  constexpr uint64_t kMinFrame = format::kFrameHeaderSize + format::kEndFixedSize + format::kFooterSize;
  if (pos == 0) return Error(ErrorCode::kNotSibyl, "file is empty, not a sibyl archive");
  {
    uint8_t magic[4] = {};
    if (pos >= 4) SIBYL_RETURN_IF_ERROR(src.read_at(0, magic, 4));
    if (pos < 4 || !format::has_magic(magic)) return Error(ErrorCode::kNotSibyl, "not a sibyl archive");
  }
  while (pos > 0) {
    if (pos < kMinFrame) return Error(ErrorCode::kTruncated, "archive is truncated or has trailing data");
    uint8_t foot[format::kFooterSize];
    SIBYL_RETURN_IF_ERROR(src.read_at(pos - format::kFooterSize, foot, sizeof foot));
    format::Footer f;
    Status st = format::parse_footer(foot, &f);
    if (!st.ok()) return Error(st.code(), "archive is truncated or has trailing data (" + st.message() + ")");
    if (f.frame_size < kMinFrame || f.frame_size > pos || f.end_size < format::kEndFixedSize ||
        f.end_size > f.frame_size - format::kFrameHeaderSize - format::kFooterSize ||
        (f.end_size - format::kEndFixedSize) % format::kIndexEntrySize != 0)
      return Error(ErrorCode::kCorrupt, "frame footer is corrupt");
    FrameListing fl;
    fl.offset = pos - f.frame_size;
    fl.frame_size = f.frame_size;
    uint8_t hdr[format::kFrameHeaderSize];
    SIBYL_RETURN_IF_ERROR(src.read_at(fl.offset, hdr, sizeof hdr));
    SIBYL_RETURN_IF_ERROR(format::parse_frame_header(hdr, &fl.header));
    std::vector<uint8_t> rec(f.end_size);
    SIBYL_RETURN_IF_ERROR(src.read_at(pos - format::kFooterSize - f.end_size, rec.data(), rec.size()));
    if (rec[0] != format::kKindEnd || format::end_record_count({rec.data(), 5}) != (f.end_size - format::kEndFixedSize) / format::kIndexEntrySize)
      return Error(ErrorCode::kCorrupt, "block index is corrupt");
    SIBYL_RETURN_IF_ERROR(format::parse_end_record(rec, &fl.end));
    // The content size is what callers size buffers by: it must be the sum
    // of the index (which the decoder also checks), each entry within the
    // frame's block size.
    uint64_t sum = 0;
    for (const auto& e : fl.end.index) {
      if (e.original_size == 0 || e.original_size > (uint64_t(1) << fl.header.block_log) || e.coded_size > e.original_size)
        return Error(ErrorCode::kCorrupt, "block index is corrupt");
      sum += e.original_size;
    }
    if (sum != fl.end.content_size) return Error(ErrorCode::kCorrupt, "frame content size does not match its block index");
    frames->push_back(std::move(fl));
    pos -= f.frame_size;
  }
  std::reverse(frames->begin(), frames->end());
  return Status::Ok();
}

}  // namespace sibyl
