#include "codecs/tensor/tensor_layout.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "codecs/audio/wav.h"
#include "codecs/container/tar_layout.h"
#include "codecs/image/formats.h"
#include "codecs/tensor/tensor_params.h"

namespace sibyl::tensor {

namespace {

struct DTypeInfo {
  const char* name;
  int size;
};
constexpr DTypeInfo kInfo[kDTypeCount] = {
    {"bytes", 1}, {"f32", 4}, {"f16", 2}, {"bf16", 2}, {"f64", 8}, {"i8", 1},
    {"u8", 1},    {"i16", 2}, {"u16", 2}, {"i32", 4},  {"u32", 4},
};

constexpr uint64_t kNone = std::numeric_limits<uint64_t>::max();

uint64_t le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Product of dimensions times the element size, or kNone on overflow.
uint64_t array_bytes(const std::vector<uint64_t>& shape, int esize) {
  uint64_t n = static_cast<uint64_t>(esize);
  for (uint64_t d : shape) {
    if (d != 0 && n > kNone / d) return kNone;
    n *= d;
  }
  return n;
}

// ---- a bounded cursor over header text ------------------------------------

class Cursor {
 public:
  Cursor(const char* p, const char* end) : p_(p), end_(end) {}
  bool at_end() {
    ws();
    return p_ == end_;
  }
  bool consume(char c) {
    ws();
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }
  // A non-negative decimal integer that fits in 64 bits.
  bool uint(uint64_t* out) {
    ws();
    if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
    uint64_t v = 0;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
      const uint64_t d = static_cast<uint64_t>(*p_ - '0');
      if (v > (kNone - d) / 10) return false;
      v = v * 10 + d;
      ++p_;
    }
    *out = v;
    return true;
  }

 protected:
  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  const char* p_;
  const char* end_;
};

// ---- safetensors: a JSON object, read by a small bounded parser ---------

class JsonReader : public Cursor {
 public:
  using Cursor::Cursor;

  bool string(std::string* out) {
    ws();
    if (p_ == end_ || *p_ != '"') return false;
    ++p_;
    out->clear();
    while (p_ < end_ && *p_ != '"') {
      char c = *p_++;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c == '\\') {
        if (p_ == end_) return false;
        c = *p_++;
        if (c == 'u') {
          if (end_ - p_ < 4) return false;
          p_ += 4;  // names we look for are ASCII; keep a placeholder
          c = '?';
        } else if (!std::strchr("\"\\/bfnrt", c)) {
          return false;
        }
      }
      if (out->size() < 256) out->push_back(c);
    }
    if (p_ == end_) return false;
    ++p_;
    return true;
  }
  bool uint_array(std::vector<uint64_t>* out, size_t max_items) {
    out->clear();
    if (!consume('[')) return false;
    if (consume(']')) return true;
    do {
      uint64_t v;
      if (out->size() >= max_items || !uint(&v)) return false;
      out->push_back(v);
    } while (consume(','));
    return consume(']');
  }
  // Skips any value, nested at most `depth` levels.
  bool skip(int depth) {
    ws();
    if (p_ == end_ || depth < 0) return false;
    std::string s;
    const char c = *p_;
    if (c == '"') return string(&s);
    if (c == '{' || c == '[') {
      ++p_;
      const char close = c == '{' ? '}' : ']';
      if (consume(close)) return true;
      do {
        if (c == '{' && !(string(&s) && consume(':'))) return false;
        if (!skip(depth - 1)) return false;
      } while (consume(','));
      return consume(close);
    }
    // number, true, false, null
    const char* start = p_;
    while (p_ < end_ && (std::strchr("+-.eE", *p_) || (*p_ >= '0' && *p_ <= '9') || (*p_ >= 'a' && *p_ <= 'z'))) ++p_;
    return p_ > start;
  }
};

// A container's name for an element type, and ours.
struct TypeName {
  const char* name;
  DType t;
};

template <size_t N>
bool find_type(const TypeName (&table)[N], const std::string& name, DType* out) {
  for (const TypeName& m : table) {
    if (name == m.name) {
      *out = m.t;
      return true;
    }
  }
  return false;
}

constexpr TypeName kSafetensorsTypes[] = {
    {"F32", DType::kF32}, {"F16", DType::kF16}, {"BF16", DType::kBF16}, {"F64", DType::kF64},
    {"I8", DType::kI8},   {"U8", DType::kU8},   {"I16", DType::kI16},   {"U16", DType::kU16},
    {"I32", DType::kI32}, {"U32", DType::kU32}, {"BOOL", DType::kU8}};

constexpr uint64_t kMaxSafetensorsHeader = uint64_t(100) << 20;  // the format's own limit
constexpr size_t kMaxDims = 16;

// Marks a C-order tensor of 3 or more dimensions as a KV cache: layers
// first, tokens second-last, channels last. Skipped where the structure
// could not pay: rows the coder treats as rows of 1, one-token sequences,
// or layers too small to be worth a segment each.
void mark_kv(Region* reg, const std::vector<uint64_t>& shape) {
  if (shape.size() < 3 || reg->row > kMaxRow) return;
  const uint64_t tokens = shape[shape.size() - 2];
  const uint64_t layer = reg->bytes / static_cast<uint64_t>(dtype_size(reg->dtype)) / std::max<uint64_t>(shape[0], 1);
  if (tokens < 2 || layer < kMinKvLayer) return;
  reg->tokens = tokens;
  reg->layer = layer;
}

Layout detect_safetensors(std::span<const uint8_t> prefix, bool all_kv) {
  Layout none;
  if (prefix.size() < 10) return none;
  const uint64_t n = le(prefix.data(), 8);
  if (n < 2 || n > kMaxSafetensorsHeader || n > prefix.size() - 8) return none;
  const char* json = reinterpret_cast<const char*>(prefix.data() + 8);
  if (json[0] != '{') return none;
  JsonReader r(json, json + n);
  const uint64_t data_start = 8 + n;
  Layout out;
  out.container = "safetensors";
  out.header_bytes = data_start;
  if (!r.consume('{')) return none;
  std::string key, field, dtype_name;
  std::vector<uint64_t> shape, offsets;
  if (!r.consume('}')) {
    do {
      if (!r.string(&key) || !r.consume(':')) return none;
      if (key == "__metadata__") {
        if (!r.skip(2)) return none;
        continue;
      }
      if (!r.consume('{')) return none;
      bool have_dtype = false, have_shape = false, have_offsets = false;
      if (!r.consume('}')) {
        do {
          if (!r.string(&field) || !r.consume(':')) return none;
          if (field == "dtype") {
            if (!r.string(&dtype_name)) return none;
            have_dtype = true;
          } else if (field == "shape") {
            if (!r.uint_array(&shape, kMaxDims)) return none;
            have_shape = true;
          } else if (field == "data_offsets") {
            if (!r.uint_array(&offsets, 2) || offsets.size() != 2 || offsets[0] > offsets[1]) return none;
            have_offsets = true;
          } else if (!r.skip(2)) {
            return none;
          }
        } while (r.consume(','));
        if (!r.consume('}')) return none;
      }
      if (!have_dtype || !have_shape || !have_offsets) return none;
      DType t;
      if (!find_type(kSafetensorsTypes, dtype_name, &t)) continue;  // a type we do not model stays bytes
      const uint64_t bytes = array_bytes(shape, dtype_size(t));
      if (bytes != offsets[1] - offsets[0]) return none;
      if (offsets[1] > kNone - data_start) return none;
      if (bytes == 0) continue;
      Region reg;
      reg.offset = data_start + offsets[0];
      reg.bytes = bytes;
      reg.dtype = t;
      reg.row = shape.empty() || shape.back() == 0 ? 1 : shape.back();
      if (all_kv || is_kv_name(key)) mark_kv(&reg, shape);
      out.regions.push_back(reg);
    } while (r.consume(','));
    if (!r.consume('}')) return none;
  }
  if (!r.at_end()) return none;
  std::sort(out.regions.begin(), out.regions.end(), [](const Region& a, const Region& b) { return a.offset < b.offset; });
  for (size_t i = 1; i < out.regions.size(); ++i)
    if (out.regions[i].offset < out.regions[i - 1].offset + out.regions[i - 1].bytes) return none;  // overlap
  return out;
}

// ---- NPY: a Python dict literal ------------------------------------------

class PyDictReader : public Cursor {
 public:
  using Cursor::Cursor;

  bool string(std::string* out) {
    ws();
    if (p_ == end_ || (*p_ != '\'' && *p_ != '"')) return false;
    const char q = *p_++;
    out->clear();
    while (p_ < end_ && *p_ != q) {
      if (out->size() >= 64) return false;
      out->push_back(*p_++);
    }
    if (p_ == end_) return false;
    ++p_;
    return true;
  }
  bool word(std::string* out) {
    ws();
    out->clear();
    while (p_ < end_ && ((*p_ >= 'A' && *p_ <= 'Z') || (*p_ >= 'a' && *p_ <= 'z'))) {
      if (out->size() >= 16) return false;
      out->push_back(*p_++);
    }
    return !out->empty();
  }
  bool tuple(std::vector<uint64_t>* out) {
    out->clear();
    if (!consume('(')) return false;
    while (!consume(')')) {
      uint64_t v = 0;
      if (out->size() >= kMaxDims || !uint(&v)) return false;
      if (p_ < end_ && *p_ == 'L') ++p_;  // Python 2 longs
      out->push_back(v);
      if (!consume(',')) {
        if (!consume(')')) return false;
        break;
      }
    }
    return true;
  }
};

constexpr TypeName kNpyTypes[] = {
    {"<f4", DType::kF32}, {"<f2", DType::kF16}, {"<f8", DType::kF64}, {"|i1", DType::kI8},
    {"<i1", DType::kI8},  {"|u1", DType::kU8},  {"<u1", DType::kU8},  {"|b1", DType::kU8},
    {"<i2", DType::kI16}, {"<u2", DType::kU16}, {"<i4", DType::kI32}, {"<u4", DType::kU32}};

Layout detect_npy(std::span<const uint8_t> prefix, bool all_kv) {
  Layout none;
  static const uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (prefix.size() < 10 || std::memcmp(prefix.data(), kMagic, 6) != 0) return none;
  const int major = prefix[6];
  uint64_t start, hlen;
  if (major == 1) {
    hlen = le(prefix.data() + 8, 2);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (prefix.size() < 12) return none;
    hlen = le(prefix.data() + 8, 4);
    start = 12;
  } else {
    return none;
  }
  if (hlen > prefix.size() - start) return none;
  const char* h = reinterpret_cast<const char*>(prefix.data() + start);
  PyDictReader r(h, h + hlen);
  std::string key, descr, word;
  std::vector<uint64_t> shape;
  bool fortran = false, have_descr = false, have_shape = false, have_order = false;
  if (!r.consume('{')) return none;
  while (!r.consume('}')) {
    if (!r.string(&key) || !r.consume(':')) return none;
    if (key == "descr") {
      if (!r.string(&descr)) return none;
      have_descr = true;
    } else if (key == "fortran_order") {
      if (!r.word(&word) || (word != "True" && word != "False")) return none;
      fortran = word == "True";
      have_order = true;
    } else if (key == "shape") {
      if (!r.tuple(&shape)) return none;
      have_shape = true;
    } else {
      return none;
    }
    if (!r.consume(',')) {
      if (!r.consume('}')) return none;
      break;
    }
  }
  if (!have_descr || !have_shape || !have_order) return none;
  Layout out;
  out.container = "npy";
  out.header_bytes = start + hlen;
  DType t;
  if (!find_type(kNpyTypes, descr, &t)) return out;  // a type we do not model: the data stays bytes
  const uint64_t bytes = array_bytes(shape, dtype_size(t));
  if (bytes == kNone || bytes == 0) return out;
  Region reg;
  reg.offset = out.header_bytes;
  reg.bytes = bytes;
  reg.dtype = t;
  // The fastest-varying axis is the last in C order, the first in Fortran order.
  const uint64_t row = shape.empty() ? 1 : (fortran ? shape.front() : shape.back());
  reg.row = row == 0 ? 1 : row;
  if (all_kv && !fortran) mark_kv(&reg, shape);
  out.regions.push_back(reg);
  return out;
}

}  // namespace

int dtype_size(DType t) {
  const auto i = static_cast<size_t>(t);
  return i < kDTypeCount ? kInfo[i].size : 1;
}

const char* dtype_name(DType t) {
  const auto i = static_cast<size_t>(t);
  return i < kDTypeCount ? kInfo[i].name : "?";
}

bool parse_dtype_name(const std::string& s, DType* out) {
  for (int i = 1; i < kDTypeCount; ++i) {
    if (s == kInfo[i].name) {
      *out = static_cast<DType>(i);
      return true;
    }
  }
  return false;
}

bool is_kv_name(const std::string& name) {
  std::string n;
  for (char c : name) n.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  static const char* const kWords[] = {"past_key", "kv_cache", "kvcache", "key_cache", "value_cache",
                                       "k_cache",  "v_cache",  "key_states", "value_states"};
  for (const char* w : kWords)
    if (n.find(w) != std::string::npos) return true;
  // "....key" / "....value" as the last component of a dotted name
  for (const char* w : {".key", ".value", ".keys", ".values"}) {
    const size_t k = std::strlen(w);
    if (n.size() >= k && n.compare(n.size() - k, k, w) == 0) return true;
  }
  return false;
}

namespace {

// Clips regions to the stream (a truncated file keeps what it has).
void clip_regions(Layout* l, uint64_t total) {
  if (total == kNone) return;
  std::vector<Region> kept;
  for (Region r : l->regions) {
    if (r.offset >= total) continue;
    r.bytes = std::min(r.bytes, total - r.offset);
    kept.push_back(r);
  }
  l->regions = std::move(kept);
}

Layout detect_file_unclipped(std::span<const uint8_t> prefix, bool all_kv) {
  Layout l = detect_npy(prefix, all_kv);
  if (l.container.empty()) l = detect_safetensors(prefix, all_kv);
  if (l.container.empty()) l = audio::detect_wav(prefix);
  if (l.container.empty()) l = image::detect_image(prefix);
  return l;
}

}  // namespace

Layout detect_layout(std::span<const uint8_t> prefix, uint64_t total, bool all_kv) {
  Layout l = detect_file_unclipped(prefix, all_kv);
  if (l.container.empty()) l = tar::detect_tar(prefix);
  clip_regions(&l, total);
  return l;
}

Layout detect_file(std::span<const uint8_t> prefix, uint64_t total, bool all_kv) {
  Layout l = detect_file_unclipped(prefix, all_kv);
  clip_regions(&l, total);
  return l;
}

Layout raw_layout(DType dtype, uint64_t row, uint64_t tokens, uint64_t layer) {
  Layout l;
  l.container = "raw";
  if (dtype == DType::kBytes) return l;
  Region r;
  r.offset = 0;
  r.bytes = kNone;
  r.dtype = dtype;
  r.row = row == 0 ? 1 : row;
  // (tokens <= layer / row first: tokens * row cannot overflow then)
  if (tokens >= 2 && layer >= kMinKvLayer && r.row <= kMaxRow && tokens <= layer / r.row &&
      layer % (tokens * r.row) == 0) {
    r.tokens = tokens;
    r.layer = layer;
  }
  l.regions.push_back(r);
  return l;
}

Layout raw_audio_layout(audio::Sample sample, unsigned channels) {
  Layout l;
  l.container = "raw";
  if (sample == audio::Sample::kNone || channels == 0 || channels > audio::kMaxChannels) return l;
  Region r;
  r.offset = 0;
  r.bytes = kNone;
  r.row = channels;
  r.sample = sample;
  l.regions.push_back(r);
  return l;
}

std::vector<Segment> block_segments(const Layout& layout, uint64_t start, uint64_t size, bool split_layers) {
  std::vector<Segment> segs;
  auto add_bytes = [&](uint64_t n) {
    if (n == 0) return;
    if (!segs.empty() && segs.back().dtype == DType::kBytes && segs.back().sample == audio::Sample::kNone &&
        segs.back().width == 0 && segs.back().record == 0 && !segs.back().code) {
      segs.back().count += n;
    } else {
      Segment s;
      s.count = n;
      segs.push_back(s);
    }
  };
  const uint64_t end = start + size;
  uint64_t pos = start;
  for (const Region& r : layout.regions) {
    const uint64_t r_end = r.bytes > kNone - r.offset ? kNone : r.offset + r.bytes;
    if (r_end <= pos || r.offset >= end) continue;
    if (r.code) {
      const uint64_t a = std::max(pos, r.offset), b = std::min(end, r_end);
      add_bytes(a - pos);
      Segment s;
      s.count = b - a;
      s.code = true;
      segs.push_back(s);
      pos = b;
      continue;
    }
    const bool is_audio = r.sample != audio::Sample::kNone;
    const bool is_image = r.width != 0;
    const bool is_record = r.record != 0;
    const uint64_t es = is_record  ? uint64_t(r.record)
                        : is_image ? uint64_t(r.width) * r.row * r.image_bytes + r.row_pad
                        : is_audio ? static_cast<uint64_t>(audio::sample_bytes(r.sample)) * r.row
                                   : static_cast<uint64_t>(dtype_size(r.dtype));
    const uint64_t a = std::max(pos, r.offset), b = std::min(end, r_end);
    if (is_record) {
      // Whole records, and the parts of records cut by the block's ends
      // (each part is coded with the rest of its record left out).
      add_bytes(a - pos);
      for (uint64_t p = a; p < b;) {
        const uint64_t j = (p - r.offset) / es, col = (p - r.offset) % es;
        Segment s;
        s.record = r.record;
        s.first_record = j;
        if (col == 0 && b - p >= es) {
          s.count = (b - p) / es;
        } else {
          s.partial = true;
          s.col0 = col;
          s.count = std::min(b - p, es - col);
        }
        segs.push_back(s);
        p += s.partial ? s.count : s.count * es;
      }
      pos = b;
      continue;
    }
    const uint64_t first = (a - r.offset + es - 1) / es;  // first whole element
    const uint64_t last = (b - r.offset) / es;            // one past the last whole element
    if (last <= first) continue;
    add_bytes(r.offset + first * es - pos);
    if (is_image) {
      Segment s;
      s.count = last - first;
      s.row = r.row;
      s.width = r.width;
      s.image_bytes = r.image_bytes;
      s.big_endian = r.big_endian;
      s.maxval = r.maxval;
      s.row_pad = r.row_pad;
      s.bgr = r.bgr;
      segs.push_back(s);
      pos = r.offset + last * es;
      continue;
    }
    if (is_audio) {
      Segment s;
      s.count = last - first;
      s.row = r.row;
      s.sample = r.sample;
      segs.push_back(s);
      pos = r.offset + last * es;
      continue;
    }
    // Only float KV caches are cut (only they are quantised), and only
    // while the block's segments stay far below kMaxSegments.
    const bool is_float = r.dtype == DType::kF32 || r.dtype == DType::kF16 || r.dtype == DType::kBF16 ||
                          r.dtype == DType::kF64;
    const bool kv = split_layers && r.tokens != 0 && is_float && (last - first) / r.layer < kMaxKvSegments;
    for (uint64_t e = first; e < last;) {
      // A KV cache is cut at layer boundaries: each layer gets its own step.
      const uint64_t stop = kv ? std::min(last, (e / r.layer + 1) * r.layer) : last;
      Segment s;
      s.dtype = r.dtype;
      s.count = stop - e;
      s.row = r.row;
      s.col0 = e % r.row;
      if (kv) {
        s.tokens = r.tokens;
        s.t0 = (e / r.row) % r.tokens;
      }
      segs.push_back(s);
      e = stop;
    }
    pos = r.offset + last * es;
  }
  add_bytes(end - pos);
  return segs;
}

SegmentKind segment_kind(const Segment& s) {
  if (s.record != 0) return SegmentKind::kRecords;
  if (s.code) return SegmentKind::kCode;
  if (s.dtype != DType::kBytes) return SegmentKind::kNumbers;
  if (s.sample != audio::Sample::kNone) return SegmentKind::kAudio;
  if (s.width != 0) return SegmentKind::kImage;
  return SegmentKind::kBytes;
}

uint64_t segment_bytes(const Segment& s) {
  switch (segment_kind(s)) {
    case SegmentKind::kRecords: return s.partial ? s.count : s.count * s.record;
    case SegmentKind::kNumbers: return s.count * static_cast<uint64_t>(dtype_size(s.dtype));
    case SegmentKind::kAudio: return s.count * s.row * static_cast<uint64_t>(audio::sample_bytes(s.sample));
    case SegmentKind::kImage: return s.count * (uint64_t(s.width) * s.row * s.image_bytes + s.row_pad);
    case SegmentKind::kBytes:
    case SegmentKind::kCode: break;
  }
  return s.count;
}

std::vector<Segment> keep_kind(std::span<const Segment> segments, SegmentKind keep) {
  std::vector<Segment> out;
  for (const Segment& s : segments) {
    const SegmentKind k = segment_kind(s);
    if (k == keep && k != SegmentKind::kBytes) {
      out.push_back(s);
      continue;
    }
    const uint64_t n = segment_bytes(s);
    if (!out.empty() && segment_kind(out.back()) == SegmentKind::kBytes) {
      out.back().count += n;
    } else {
      Segment b;
      b.count = n;
      out.push_back(b);
    }
  }
  return out;
}

}  // namespace sibyl::tensor
