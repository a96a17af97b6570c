#include "engine/encoder.h"

#include <algorithm>
#include <new>

#include "codecs/audio/audio_codec.h"
#include "codecs/bytes/classify.h"
#include "codecs/codec.h"
#include "codecs/image/image_codec.h"
#include "codecs/image/pnm.h"
#include "codecs/pc/pc_codec.h"
#include "codecs/tensor/tensor_codec.h"
#include "codecs/tensor/tensor_params.h"
#include "engine/parallel.h"

namespace sibyl {

Status encode_block(const LevelPreset& preset, std::span<const uint8_t> in, bool verify, std::vector<uint8_t>& out,
                    format::IndexEntry* entry, std::span<const tensor::Segment> segments,
                    const tensor::ErrorBound* bound, std::vector<uint8_t>* decoded, tensor::LossyStats* stats) {
  if (decoded != nullptr) decoded->clear();
  if (stats != nullptr) *stats = tensor::LossyStats{};
  tensor::LossyStats block_stats;
  format::BlockHeader h;
  h.original_size = static_cast<uint32_t>(in.size());
  std::vector<uint8_t> payload;
  // A block with segments of several kinds (members of a tar) goes to the
  // codec of the kind that covers most of its bytes; the others are bytes.
  std::vector<tensor::Segment> one_kind;
  {
    uint64_t by_kind[tensor::kSegmentKinds] = {};
    for (const tensor::Segment& s : segments) by_kind[static_cast<int>(tensor::segment_kind(s))] += tensor::segment_bytes(s);
    const int numbers_k = static_cast<int>(tensor::SegmentKind::kNumbers), audio_k = static_cast<int>(tensor::SegmentKind::kAudio),
              image_k = static_cast<int>(tensor::SegmentKind::kImage);
    const int kinds = (by_kind[numbers_k] != 0) + (by_kind[audio_k] != 0) + (by_kind[image_k] != 0);
    if (kinds > 1 && by_kind[static_cast<int>(tensor::SegmentKind::kRecords)] == 0) {
      int keep = numbers_k;
      for (int k : {audio_k, image_k})
        if (by_kind[k] > by_kind[keep]) keep = k;
      one_kind = tensor::keep_kind(segments, static_cast<tensor::SegmentKind>(keep));
      segments = one_kind;
    }
  }
  const bool records = !preset.pc_params.empty() && segments.size() <= pc::kMaxSegments && pc::has_records(segments);
  const bool numbers =
      !records && segments.size() <= tensor::kMaxSegments &&
      std::any_of(segments.begin(), segments.end(), [](const tensor::Segment& s) { return s.dtype != tensor::DType::kBytes; });
  const bool audio =
      !records && !numbers && segments.size() <= audio::kMaxSegments &&
      std::any_of(segments.begin(), segments.end(), [](const tensor::Segment& s) { return s.sample != audio::Sample::kNone; });
  const bool image = !records && !numbers && !audio && segments.size() <= image::kMaxSegments && image::has_image(segments);
  const bool lossy = numbers && bound != nullptr && decoded != nullptr;
  uint16_t codec_id = records   ? static_cast<uint16_t>(kCodecPc)
                      : lossy   ? static_cast<uint16_t>(kCodecTensorLossy)
                      : numbers ? static_cast<uint16_t>(kCodecTensor)
                      : audio   ? static_cast<uint16_t>(kCodecAudio)
                      : image   ? static_cast<uint16_t>(kCodecImage)
                                : preset.codec;
  const Codec* codec = find_codec(codec_id);
  if (codec == nullptr) return Error(ErrorCode::kInternal, "level preset names an unknown codec");
  std::vector<uint8_t> params;
  // Also codes the block with the level's byte codec and keeps the smaller
  // payload.
  // The byte codec and parameters of the block's class (codecs/bytes/classify.h).
  auto byte_choice = [&](uint16_t* id, std::vector<uint8_t>* p) {
    const int c = static_cast<int>(classify_block(in));
    *id = preset.class_codec[c];
    *p = preset.class_params[c];
    if (p->empty()) *id = preset.codec, *p = preset.params;
  };
  auto try_bytes = [&]() -> Status {
    uint16_t bytes_id;
    std::vector<uint8_t> alt_params;
    byte_choice(&bytes_id, &alt_params);
    const Codec* bytes_codec = find_codec(bytes_id);
    if (bytes_codec == nullptr) return Status::Ok();
    if (bytes_codec->fit_params) alt_params = bytes_codec->fit_params(alt_params, in.size());
    std::vector<uint8_t> alt;
    SIBYL_RETURN_IF_ERROR(bytes_codec->encode(alt_params, in, alt));
    if (alt.size() < payload.size()) {
      codec_id = bytes_id;
      codec = bytes_codec;
      params = std::move(alt_params);
      payload = std::move(alt);
    }
    return Status::Ok();
  };
  if (records) {
    params = preset.pc_params;
    pc::PcConfig config;
    SIBYL_RETURN_IF_ERROR(pc::PcConfig::parse(params, &config));
    SIBYL_RETURN_IF_ERROR(pc::pc_encode(config, segments, in, payload));
  } else if (audio) {
    params = preset.audio_params;
    audio::AudioConfig config;
    SIBYL_RETURN_IF_ERROR(audio::AudioConfig::parse(params, &config));
    SIBYL_RETURN_IF_ERROR(audio::audio_encode(config, segments, in, payload));
    // 8-bit sound effects often repeat exactly, and non-integer floats are
    // not a signal the predictors know: such blocks also go through the
    // byte model and the smaller payload is kept.
    if (audio::audio_try_bytes(segments, in)) SIBYL_RETURN_IF_ERROR(try_bytes());
  } else if (image) {
    params = preset.image_params;
    image::ImageConfig config;
    SIBYL_RETURN_IF_ERROR(image::ImageConfig::parse(params, &config));
    SIBYL_RETURN_IF_ERROR(image::image_encode(config, segments, in, payload));
    // The image codec codes bytes outside its rows with an order-1 model:
    // a block that mixes images with much else (a tar with other members)
    // is also coded by the byte model, and the smaller payload is kept.
    uint64_t other = 0;
    for (const tensor::Segment& s : segments)
      if (s.width == 0) other += s.count;
    if (other * 16 > in.size()) SIBYL_RETURN_IF_ERROR(try_bytes());
  } else if (numbers) {
    params = preset.tensor_params;
    tensor::TensorConfig config;
    SIBYL_RETURN_IF_ERROR(tensor::TensorConfig::parse(params, &config));
    SIBYL_RETURN_IF_ERROR(
        tensor::tensor_encode(config, segments, in, payload, lossy ? bound : nullptr, lossy ? decoded : nullptr,
                              lossy ? &block_stats : nullptr));
  } else {
    byte_choice(&codec_id, &params);
    codec = find_codec(codec_id);
    if (codec == nullptr) return Error(ErrorCode::kInternal, "level preset names an unknown codec");
    if (codec->fit_params) params = codec->fit_params(params, in.size());
    SIBYL_RETURN_IF_ERROR(codec->encode(params, in, payload));
  }
  // What the block decodes to: the input, or its lossy reconstruction.
  std::span<const uint8_t> content = lossy ? std::span<const uint8_t>(*decoded) : in;
  if (payload.size() < in.size()) {
    if (verify) {
      std::vector<uint8_t> back(in.size());
      SIBYL_RETURN_IF_ERROR(codec->decode(params, payload, back));
      if (!std::equal(back.begin(), back.end(), content.begin()))
        return Error(ErrorCode::kInternal, "verification failed: a block did not decode to what was coded");
    }
    h.codec = codec_id;
    h.params = params;
    if (stats != nullptr) *stats = block_stats;
  } else {
    payload.assign(in.begin(), in.end());
    h.codec = kCodecStore;
    content = in;
    if (decoded != nullptr) decoded->clear();
  }
  h.original_hash = xxh64(content.data(), content.size());
  h.coded_size = static_cast<uint32_t>(payload.size());
  out.clear();
  out.reserve(h.encoded_size() + payload.size());
  format::write_block_header(h, out);
  out.insert(out.end(), payload.begin(), payload.end());
  *entry = {h.codec, h.original_size, h.coded_size};
  return Status::Ok();
}

FrameEncoder::FrameEncoder(const EncodeOptions& options, Sink sink)
    : options_(options), preset_(level_preset(options.level, options.error_mode != 0)), sink_(std::move(sink)) {
  if (options_.threads < 1) options_.threads = 1;
  if (options_.block_log != 0) {
    preset_.block_log = static_cast<uint8_t>(std::clamp(options_.block_log, format::kMinBlockLog, format::kMaxBlockLog));
  }
  block_size_ = size_t(1) << preset_.block_log;
  if (options_.prior_hash != 0) preset_.pc_params = pc::pc_params(options_.prior_hash, options_.prior_adapt);
}

Status FrameEncoder::emit(std::span<const uint8_t> bytes) {
  bytes_out_ += bytes.size();
  frame_bytes_ += bytes.size();
  return sink_(bytes);
}

Status FrameEncoder::write_header() {
  if (header_written_) return Status::Ok();
  format::FrameHeader fh;
  fh.flags = options_.frame_flags;
  fh.block_log = preset_.block_log;
  fh.level = static_cast<uint8_t>(preset_.level);
  fh.memory_kib = static_cast<uint32_t>((preset_.worker_memory() + 1023) / 1024);
  std::vector<uint8_t> hdr;
  format::write_frame_header(fh, hdr);
  SIBYL_RETURN_IF_ERROR(emit(hdr));
  header_written_ = true;
  return Status::Ok();
}

size_t FrameEncoder::buffered() const {
  size_t n = 0;
  for (const auto& b : batch_) n += b.size();
  return n;
}

size_t FrameEncoder::input_capacity() const {
  return block_size_ * static_cast<size_t>(options_.threads) - buffered();
}

Status FrameEncoder::write(std::span<const uint8_t> data) {
  if (finished_) return Error(ErrorCode::kStage, "write after finish");
  SIBYL_RETURN_IF_ERROR(write_header());
  bytes_in_ += data.size();
  while (!data.empty()) {
    if (batch_.empty() || batch_.back().size() == block_size_) {
      batch_.emplace_back();
      batch_.back().reserve(std::min(block_size_, data.size() > (1u << 20) ? data.size() : size_t(1) << 20));
    }
    std::vector<uint8_t>& cur = batch_.back();
    const size_t take = std::min(block_size_ - cur.size(), data.size());
    cur.insert(cur.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
    data = data.subspan(take);
    // A full batch is compressed at once, so at most one batch of input is
    // ever buffered (memory stays flat however long the stream is).
    if (batch_.size() == static_cast<size_t>(options_.threads) && batch_.back().size() == block_size_)
      SIBYL_RETURN_IF_ERROR(flush_batch());
  }
  return Status::Ok();
}

Status FrameEncoder::flush() {
  if (finished_) return Error(ErrorCode::kStage, "flush after finish");
  SIBYL_RETURN_IF_ERROR(write_header());
  return flush_batch();
}

void FrameEncoder::detect_layout() {
  layout_known_ = true;
  if (options_.prior_hash != 0) {
    // Records for the prior (the engine checked that it is registered).
    const auto prior = pc::find_prior(options_.prior_hash);
    if (!prior) return;
    std::vector<uint8_t>& first = batch_.front();
    uint32_t width = 0;
    layout_ = pc::record_layout(first, prior->model.vars, &width);
    preset_.pc_params = pc::pc_params(options_.prior_hash, options_.prior_adapt, width);
    // A collection's header goes to a block of its own; a PGM's stays with its pixels.
    if (layout_.container == "raw" || layout_.container == "pgm" || layout_.header_bytes >= first.size()) return;
    const auto header_end = first.begin() + static_cast<std::ptrdiff_t>(layout_.header_bytes);
    std::vector<uint8_t> header(first.begin(), header_end);
    first.erase(first.begin(), header_end);
    batch_.insert(batch_.begin(), std::move(header));
    return;
  }
  if (options_.kind == DataKind::kBytes) return;
  if (options_.kind == DataKind::kAudio && options_.audio_sample != audio::Sample::kNone) {
    layout_ = tensor::raw_audio_layout(options_.audio_sample, options_.audio_channels);
    return;
  }
  if (options_.kind == DataKind::kImage && options_.image_width != 0) {
    layout_ = image::raw_image_layout(options_.image_width, options_.image_channels, options_.image_depth,
                                      options_.image_height);
    return;
  }
  if (options_.kind == DataKind::kTensor && options_.tensor_dtype != tensor::DType::kBytes) {
    layout_ = tensor::raw_layout(options_.tensor_dtype, options_.tensor_row, options_.tensor_tokens, options_.tensor_layer);
    return;
  }
  // The first block holds the stream's first bytes (the batch is the same
  // for any thread count), so the layout does not depend on -T.
  std::vector<uint8_t>& first = batch_.front();
  layout_ = tensor::detect_file(first, UINT64_MAX, options_.tensor_kv);
  if (layout_.empty() && tar::starts_tar(first)) {
    // A tar: the walker finds its members block by block (flush_batch),
    // x86 executables among them.
    tar_.emplace(true);
    return;
  }
  if (layout_.empty() || layout_.header_bytes == 0 || layout_.header_bytes >= first.size()) return;
  // An image file's header (PNM, BMP, TIFF) is small: the image codec
  // codes it with the rows (a block of its own would cost more).
  if (layout_.container == "pnm" || layout_.container == "bmp" || layout_.container == "tiff") return;
  // The header moves to a small block of its own; the numbers stay in the
  // first block's buffer (no second block-sized copy).
  const auto header_end = first.begin() + static_cast<std::ptrdiff_t>(layout_.header_bytes);
  std::vector<uint8_t> header(first.begin(), header_end);
  first.erase(first.begin(), header_end);
  batch_.insert(batch_.begin(), std::move(header));
}

namespace {

// A block whose segments are of several kinds (a tar's sounds, images and
// arrays) is cut where the kind changes, so that each piece goes to its own
// codec: a piece holds segments of one kind and bytes. An executable (a
// code segment) is a piece of its own, so that the byte model classes it
// alone. The pieces depend on the block alone (the same for any thread
// count).
void cut_by_kind(std::vector<uint8_t>& block, std::vector<tensor::Segment>& segs,
                 std::vector<std::vector<uint8_t>>* blocks, std::vector<std::vector<tensor::Segment>>* pieces) {
  std::vector<size_t> cuts;  // segment indices that start a piece, ascending
  auto cut = [&](size_t i) {
    if (i > 0 && i < segs.size() && (cuts.empty() || cuts.back() != i)) cuts.push_back(i);
  };
  tensor::SegmentKind kind = tensor::SegmentKind::kBytes;
  for (size_t i = 0; i < segs.size(); ++i) {
    const tensor::SegmentKind k = tensor::segment_kind(segs[i]);
    if (k == tensor::SegmentKind::kCode) {
      cut(i);
      cut(i + 1);
      kind = tensor::SegmentKind::kBytes;
      continue;
    }
    if (k == tensor::SegmentKind::kBytes) continue;
    if (kind != tensor::SegmentKind::kBytes && k != kind) cut(i);
    kind = k;
  }
  if (cuts.empty()) {
    blocks->push_back(std::move(block));
    pieces->push_back(std::move(segs));
    return;
  }
  cuts.push_back(segs.size());
  size_t first = 0;
  uint64_t pos = 0;
  for (size_t c : cuts) {
    uint64_t n = 0;
    for (size_t i = first; i < c; ++i) n += tensor::segment_bytes(segs[i]);
    blocks->emplace_back(block.begin() + static_cast<std::ptrdiff_t>(pos), block.begin() + static_cast<std::ptrdiff_t>(pos + n));
    pieces->emplace_back(segs.begin() + static_cast<std::ptrdiff_t>(first), segs.begin() + static_cast<std::ptrdiff_t>(c));
    pos += n;
    first = c;
  }
  std::vector<uint8_t>().swap(block);
}

}  // namespace

Status FrameEncoder::flush_batch() {
  if (!batch_.empty() && batch_.back().empty()) batch_.pop_back();
  const size_t n0 = batch_.size();
  if (n0 == 0) return Status::Ok();
  if (!layout_known_) detect_layout();
  std::vector<std::vector<tensor::Segment>> segments(batch_.size());
  for (size_t i = 0; i < batch_.size(); ++i) {
    if (tar_) {
      // Regions wholly before this block are done with.
      std::erase_if(layout_.regions, [&](const tensor::Region& r) { return r.offset + r.bytes <= block_start_; });
      tar_->feed(batch_[i], block_start_, &layout_.regions);
    }
    if (!layout_.empty())
      segments[i] = tensor::block_segments(layout_, block_start_, batch_[i].size(), options_.error_mode != 0);
    block_start_ += batch_[i].size();
  }
  if (tar_) {
    std::vector<std::vector<uint8_t>> blocks;
    std::vector<std::vector<tensor::Segment>> pieces;
    for (size_t i = 0; i < batch_.size(); ++i) cut_by_kind(batch_[i], segments[i], &blocks, &pieces);
    batch_ = std::move(blocks);
    segments = std::move(pieces);
  }
  const size_t n = batch_.size();
  std::vector<std::vector<uint8_t>> coded(n), decoded(n);
  std::vector<format::IndexEntry> entries(n);
  std::vector<Status> status(n);
  const bool lossy = options_.error_mode != 0;
  const tensor::ErrorBound bound = options_.error_mode == tensor::ErrorBound::kVectors
                                       ? tensor::ErrorBound(options_.vq)
                                       : tensor::ErrorBound(options_.error_mode, options_.error_bound);
  std::vector<tensor::LossyStats> stats(n);
  run_parallel(n, options_.threads, [&](size_t i) {
    ScopedMemoryHooks hooks(options_.hooks);
    try {
      status[i] = encode_block(preset_, batch_[i], options_.verify, coded[i], &entries[i], segments[i],
                               lossy ? &bound : nullptr, &decoded[i], &stats[i]);
    } catch (const std::bad_alloc&) {
      status[i] = Error(ErrorCode::kOutOfMemory, "out of memory while compressing a block");
    } catch (...) {
      status[i] = Error(ErrorCode::kInternal, "unexpected exception while compressing a block");
    }
  });
  for (size_t i = 0; i < n; ++i) {
    if (!status[i].ok()) {
      batch_.clear();
      return status[i];
    }
    // The frame's content hash covers what the blocks decode to.
    const std::vector<uint8_t>& content = decoded[i].empty() ? batch_[i] : decoded[i];
    content_hash_.update(content.data(), content.size());
    std::vector<uint8_t>().swap(batch_[i]);
    std::vector<uint8_t>().swap(decoded[i]);
    const Status s = emit(coded[i]);
    if (!s.ok()) {
      batch_.clear();
      return s;
    }
    index_.push_back(entries[i]);
    lossy_stats_.add(stats[i]);
  }
  batch_.clear();
  return Status::Ok();
}

Status FrameEncoder::finish() {
  if (finished_) return Error(ErrorCode::kStage, "finish called twice");
  SIBYL_RETURN_IF_ERROR(write_header());  // an empty frame still has its header
  SIBYL_RETURN_IF_ERROR(flush_batch());
  finished_ = true;
  format::EndRecord end;
  end.content_hash = content_hash_.digest();
  end.content_size = bytes_in_;
  end.index = std::move(index_);
  std::vector<uint8_t> tail;
  format::write_end_record(end, tail);
  const uint32_t end_size = static_cast<uint32_t>(tail.size());
  format::write_footer({frame_bytes_ + tail.size() + format::kFooterSize, end_size}, tail);
  return emit(tail);
}

Status compress_buffer(std::span<const uint8_t> in, const EncodeOptions& options, std::vector<uint8_t>& out) {
  out.clear();
  FrameEncoder enc(options, [&](std::span<const uint8_t> b) {
    out.insert(out.end(), b.begin(), b.end());
    return Status::Ok();
  });
  SIBYL_RETURN_IF_ERROR(enc.write(in));
  return enc.finish();
}

}  // namespace sibyl
