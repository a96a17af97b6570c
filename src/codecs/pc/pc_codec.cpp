#include "codecs/pc/pc_codec.h"

#include <algorithm>
#include <mutex>

#include "codecs/pc/collection.h"
#include "codecs/pc/pc_adapt.h"
#include "coder/binary_coder.h"
#include "coder/quantize.h"
#include "coder/range_coder.h"
#include "common/bytes.h"
#include "model/adaptive_prob.h"

namespace sibyl::pc {

namespace {

constexpr int kTotalBits = 16;
// A record's stream is never longer than this many bytes per value (an
// escaped record stores its bytes; a coded one that would be longer is
// escaped).
constexpr uint64_t kMaxStreamFactor = 1;

std::mutex g_mutex;
std::vector<std::shared_ptr<const Prior>>& registry() {
  static std::vector<std::shared_ptr<const Prior>> r;
  return r;
}

// The record index: per record an escape flag (its bytes are stored) and
// its stream's length, coded with adaptive bits: the length's bit count,
// then its bits below the leading one (the top four with the ones before
// as context).
class IndexModel {
 public:
  template <class Coder>
  uint64_t code(Coder& c, bool* escaped, uint64_t length) {
    *escaped = bit(c, escape_, *escaped ? 1 : 0) != 0;
    if (*escaped) return 0;
    int nbits = 0;
    if constexpr (!Coder::kDecoding) {
      while (nbits < 40 && (length >> nbits) > 1) ++nbits;
    }
    // nbits in 0..40 (length >= 1): six bits, a binary tree.
    int node = 1;
    for (int b = 5; b >= 0; --b) {
      const int x = bit(c, bits_[node], (nbits >> b) & 1);
      node = node * 2 + x;
    }
    nbits = node - 64;
    if (nbits > 40) nbits = 40;
    uint64_t v = 1;
    for (int b = nbits - 1; b >= 0; --b) {
      const int depth = nbits - 1 - b;
      AdaptiveProb& p = depth < 4 ? high_[nbits][(1u << depth) | (v & ((1u << depth) - 1))] : low_[nbits][b & 31];
      v = v * 2 + static_cast<uint64_t>(bit(c, p, static_cast<int>((length >> b) & 1)));
    }
    return v;
  }

 private:
  template <class Coder>
  static int bit(Coder& c, AdaptiveProb& p, int b) {
    const uint32_t p1 = std::clamp<uint32_t>(p.p, 64, 65535 - 64);
    b = c.code(b, p1);
    adapt(p, b, 60);
    return b;
  }
  AdaptiveProb escape_;
  AdaptiveProb bits_[64];
  AdaptiveProb high_[41][16];
  AdaptiveProb low_[41][32];
};

struct SegmentInfo {
  int kind = 0;  // 0 bytes, 1 whole records, 2 part of a record
  uint64_t count = 0;  // bytes (0, 2) or records (1)
  uint64_t first_record = 0;
  uint64_t col0 = 0;  // kind 2: the part's first byte in its record
  uint64_t bytes(uint64_t record) const { return kind == 1 ? count * record : count; }
};

Status parse_segments(std::span<const uint8_t> in, size_t* pos, uint64_t out_size, uint64_t record,
                      std::vector<SegmentInfo>* segs) {
  uint64_t n;
  if (!get_varint(in, pos, &n) || n > kMaxSegments) return Error(ErrorCode::kCorrupt, "pc: bad segment table");
  uint64_t total = 0;
  for (uint64_t i = 0; i < n; ++i) {
    SegmentInfo s;
    uint64_t kind;
    if (!get_varint(in, pos, &kind) || kind > 2 || !get_varint(in, pos, &s.count))
      return Error(ErrorCode::kCorrupt, "pc: bad segment table");
    s.kind = static_cast<int>(kind);
    if (s.kind != 0 && !get_varint(in, pos, &s.first_record)) return Error(ErrorCode::kCorrupt, "pc: bad segment table");
    if (s.kind == 2 && (!get_varint(in, pos, &s.col0) || s.col0 >= record || s.count == 0 || s.count > record - s.col0))
      return Error(ErrorCode::kCorrupt, "pc: bad segment table");
    if ((s.kind == 1 && s.count > out_size / record) || s.bytes(record) > out_size - total)
      return Error(ErrorCode::kCorrupt, "pc: segments do not match the block size");
    total += s.bytes(record);
    segs->push_back(s);
  }
  if (total != out_size) return Error(ErrorCode::kCorrupt, "pc: segments do not match the block size");
  return Status::Ok();
}

// One record through the circuit: the encoder codes `rec`, the decoder fills it.
class RecordCoder {
 public:
  explicit RecordCoder(const Prior& p)
      : p_(p), coder_(p.model, p.tree, p.trans_t.data()), dist_(p.model.values), freq_(p.model.values) {}

  // Codes the variables [col0, col0 + len) of a record (`piece` holds
  // them); the others are left out (marginalised).
  void encode(const uint8_t* piece, uint64_t col0, uint64_t len, std::vector<uint8_t>& out) {
    RangeEncoder rc(out);
    coder_.reset();
    const uint32_t d = p_.model.vars, nv = p_.model.values;
    for (uint32_t i = 0; i < d; ++i) {
      const uint64_t v = p_.tree.order[i];
      if (v - col0 >= len) {
        coder_.observe(i, -1);
        continue;
      }
      coder_.predict(i, dist_.data());
      quantize_distribution(dist_.data(), nv, kTotalBits, freq_.data());
      const uint32_t x = piece[v - col0];
      uint32_t cum = 0;
      for (uint32_t s = 0; s < x; ++s) cum += freq_[s];
      rc.encode(cum, freq_[x], 1u << kTotalBits);
      coder_.observe(i, static_cast<int>(x));
    }
    rc.flush_short();
  }

  bool decode(std::span<const uint8_t> stream, uint64_t col0, uint64_t len, uint8_t* piece) {
    RangeDecoder rd(stream.data(), stream.size());
    coder_.reset();
    const uint32_t d = p_.model.vars, nv = p_.model.values;
    for (uint32_t i = 0; i < d; ++i) {
      const uint64_t v = p_.tree.order[i];
      if (v - col0 >= len) {
        coder_.observe(i, -1);
        continue;
      }
      coder_.predict(i, dist_.data());
      quantize_distribution(dist_.data(), nv, kTotalBits, freq_.data());
      const uint32_t target = rd.decode_target(1u << kTotalBits);
      uint32_t x = 0, cum = 0;
      while (x + 1 < nv && cum + freq_[x] <= target) cum += freq_[x++];
      rd.consume(cum, freq_[x]);
      piece[v - col0] = static_cast<uint8_t>(x);
      coder_.observe(i, static_cast<int>(x));
    }
    return !rd.corrupt();
  }

 private:
  const Prior& p_;
  HcltCoder coder_;
  std::vector<float> dist_;
  std::vector<uint32_t> freq_;
};

std::string hex(uint64_t h) {
  static const char* d = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 0; i < 16; ++i) s[15 - i] = d[(h >> (4 * i)) & 15];
  return s;
}

Status get_prior(const PcConfig& config, std::shared_ptr<const Prior>* out) {
  *out = find_prior(config.prior_hash);
  if (!*out)
    return Error(ErrorCode::kBadParameters, "this archive was made with prior " + hex(config.prior_hash) +
                                                ", which was not given (--prior FILE) or is a different file");
  if (config.mixing && (!(*out)->mixing || mixing_width(*(*out)->mixing) != config.width))
    return Error(ErrorCode::kBadParameters, "pc: the block needs the prior's mixing model, which prior " +
                                                hex(config.prior_hash) + " does not have");
  return Status::Ok();
}

// The parts of a payload: segments, stored bytes, the index, the streams.
struct Parsed {
  std::vector<SegmentInfo> segs;
  size_t bytes_pos = 0;
  std::span<const uint8_t> index;
  size_t streams_pos = 0;
};

Status parse_payload(std::span<const uint8_t> in, uint64_t out_size, uint64_t record, bool adapt, Parsed* p) {
  size_t pos = 0;
  SIBYL_RETURN_IF_ERROR(parse_segments(in, &pos, out_size, record, &p->segs));
  uint64_t stored = 0, index_size;
  for (const SegmentInfo& s : p->segs)
    if (s.kind == 0) stored += s.count;
  if (stored > in.size() - pos) return Error(ErrorCode::kCorrupt, "pc: payload truncated");
  p->bytes_pos = pos;
  pos += stored;
  if (adapt) {
    p->streams_pos = pos;
    return Status::Ok();
  }
  if (!get_varint(in, &pos, &index_size) || index_size > in.size() - pos)
    return Error(ErrorCode::kCorrupt, "pc: bad record index");
  p->index = in.subspan(pos, index_size);
  p->streams_pos = pos + index_size;
  return Status::Ok();
}

}  // namespace

Status register_prior(std::span<const uint8_t> file, uint64_t* hash) {
  auto p = std::make_shared<Prior>();
  SIBYL_RETURN_IF_ERROR(read_prior(file, &p->model, &p->hash));
  *hash = p->hash;
  std::lock_guard<std::mutex> lock(g_mutex);
  for (const auto& q : registry())
    if (q->hash == p->hash) return Status::Ok();
  SIBYL_RETURN_IF_ERROR(p->tree.build(p->model.parent));
  p->trans_t = transpose_transitions(p->model);
  if (!p->model.mixing.empty()) {
    SIBYL_RETURN_IF_ERROR(parse_mixing(*p, p->model.mixing, &p->mixing));
    std::vector<uint8_t>().swap(p->model.mixing);  // parsed: the bytes are not needed again
  }
  registry().push_back(std::move(p));
  return Status::Ok();
}

const LeafTables& Prior::leaf_tables() const {
  std::call_once(tables_once_, [this] { tables_ = build_leaf_tables(model); });
  return tables_;
}

std::shared_ptr<const Prior> find_prior(uint64_t hash) {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (const auto& q : registry())
    if (q->hash == hash) return q;
  return nullptr;
}

std::vector<uint8_t> pc_params(uint64_t prior_hash, bool adapt, uint32_t width) {
  std::vector<uint8_t> p{kPcParamsVersion};
  for (int i = 0; i < 8; ++i) p.push_back(static_cast<uint8_t>(prior_hash >> (8 * i)));
  std::shared_ptr<const Prior> prior = find_prior(prior_hash);
  if (!adapt && prior && prior->mixing) {
    // Every record alone, from the prior's trained mixing model.
    p.push_back(6);
    width = mixing_width(*prior->mixing);
  } else {
    p.push_back(!adapt ? 0 : (prior && adapt_columns(*prior, width)) ? 5 : 4);
  }
  if (p.back() != 0)
    for (int i = 0; i < 4; ++i) p.push_back(static_cast<uint8_t>(width >> (8 * i)));
  return p;
}

Status PcConfig::parse(std::span<const uint8_t> params, PcConfig* out) {
  if (params.size() < 10 || params[0] != kPcParamsVersion || params[9] > 6 ||
      params.size() != (params[9] != 0 ? 14u : 10u))
    return Error(ErrorCode::kBadParameters, "pc: unknown parameters");
  const uint8_t flags = params[9];
  out->prior_hash = load_le64(params.data() + 1);
  out->mixing = flags == 6;
  out->adapt = flags != 0 && !out->mixing;
  out->raster = out->adapt && flags >= 2;
  out->columns = flags == 3 || flags == 5;
  out->maps = out->adapt && flags >= 4;
  out->width = flags != 0 ? load_le32(params.data() + 10) : 0;
  return Status::Ok();
}

bool has_records(std::span<const tensor::Segment> segments) {
  return std::any_of(segments.begin(), segments.end(), [](const tensor::Segment& s) { return s.record != 0; });
}

Status pc_check(std::span<const uint8_t> params, uint64_t* memory) {
  PcConfig c;
  SIBYL_RETURN_IF_ERROR(PcConfig::parse(params, &c));
  std::shared_ptr<const Prior> p;
  SIBYL_RETURN_IF_ERROR(get_prior(c, &p));
  // The coder's state (the prior itself is already in memory).
  *memory = (2 * uint64_t(p->model.vars) * p->model.latent + 2 * p->model.values) * 4 + 4096;
  if (c.adapt) *memory += adapt_memory(*p, c.raster, c.maps);
  if (c.mixing) *memory += mixing_memory(*p);
  return Status::Ok();
}

namespace {

// Calls f(col0, len, data offset in the block) for every coded piece: each
// whole record, each part of one.
template <class F>
void for_each_piece(const std::vector<SegmentInfo>& segs, uint64_t record, F&& f) {
  uint64_t pos = 0;
  for (const SegmentInfo& s : segs) {
    if (s.kind == 1) {
      for (uint64_t r = 0; r < s.count; ++r) f(s, r, uint64_t(0), record, pos + r * record);
    } else if (s.kind == 2) {
      f(s, uint64_t(0), s.col0, s.count, pos);
    }
    pos += s.bytes(record);
  }
}

}  // namespace

Status pc_encode(const PcConfig& config, std::span<const tensor::Segment> segments, std::span<const uint8_t> in,
                 std::vector<uint8_t>& out) {
  std::shared_ptr<const Prior> prior;
  SIBYL_RETURN_IF_ERROR(get_prior(config, &prior));
  const uint32_t d = prior->model.vars;
  if (segments.size() > kMaxSegments) return Error(ErrorCode::kInternal, "pc: too many segments");
  std::vector<SegmentInfo> segs;
  out.clear();
  put_varint(out, segments.size());
  uint64_t total = 0;
  for (const tensor::Segment& t : segments) {
    SegmentInfo s;
    s.kind = t.record == 0 ? 0 : t.partial ? 2 : 1;
    s.count = t.count;
    s.first_record = t.first_record;
    s.col0 = t.col0;
    if (t.record != 0 && (t.record != d || (t.partial && (t.col0 >= d || t.count == 0 || t.count > d - t.col0))))
      return Error(ErrorCode::kInternal, "pc: records do not match the prior");
    put_varint(out, static_cast<uint64_t>(s.kind));
    put_varint(out, s.count);
    if (s.kind != 0) put_varint(out, s.first_record);
    if (s.kind == 2) put_varint(out, s.col0);
    total += s.bytes(d);
    segs.push_back(s);
  }
  if (total != in.size()) return Error(ErrorCode::kInternal, "pc: segments do not cover the block");
  uint64_t pos = 0;
  for (const SegmentInfo& s : segs) {
    if (s.kind == 0)
      out.insert(out.end(), in.begin() + static_cast<std::ptrdiff_t>(pos), in.begin() + static_cast<std::ptrdiff_t>(pos + s.count));
    pos += s.bytes(d);
  }
  if (config.adapt) {
    // One stream for every piece, the models shared.
    AdaptCoder coder(*prior, config.width, config.raster, config.columns, config.maps, in.size());
    BinaryEncoder enc(out);
    for_each_piece(segs, d, [&](const SegmentInfo&, uint64_t, uint64_t col0, uint64_t len, uint64_t at) {
      coder.encode(enc, in.data() + at, col0, len);
    });
    enc.flush();
    return Status::Ok();
  }
  RecordCoder coder(*prior);
  std::unique_ptr<AdaptCoder> frozen;
  if (config.mixing) frozen = std::make_unique<AdaptCoder>(*prior);
  std::vector<uint8_t> streams, one, index;
  BinaryEncoder ix(index);
  IndexModel im;
  for_each_piece(segs, d, [&](const SegmentInfo&, uint64_t, uint64_t col0, uint64_t len, uint64_t at) {
    const uint8_t* piece = in.data() + at;
    bool escaped = false;
    for (uint64_t v = 0; v < len && !escaped; ++v) escaped = piece[v] >= prior->model.values;
    one.clear();
    if (!escaped) {
      if (frozen) {
        BinaryEncoder enc(one);
        frozen->encode(enc, piece, col0, len);
        enc.flush();
      } else {
        coder.encode(piece, col0, len, one);
      }
      escaped = one.size() >= len * kMaxStreamFactor;
    }
    if (escaped) one.assign(piece, piece + len);
    im.code(ix, &escaped, one.size());
    streams.insert(streams.end(), one.begin(), one.end());
  });
  ix.flush();
  put_varint(out, index.size());
  out.insert(out.end(), index.begin(), index.end());
  out.insert(out.end(), streams.begin(), streams.end());
  return Status::Ok();
}

namespace {

// Reads the pieces' index and decodes the pieces `want` selects into `dst`
// (the block's bytes, or a record). *end = where the streams end.
template <class Want>
Status decode_pieces(const Prior& prior, const PcConfig& config, std::span<const uint8_t> in, const Parsed& p,
                     uint64_t block_bytes, Want&& want, size_t* end) {
  const uint32_t d = prior.model.vars;
  if (config.adapt) {
    // Every piece in order (they share the models); those not wanted are
    // decoded into a scratch record.
    AdaptCoder coder(prior, config.width, config.raster, config.columns, config.maps, block_bytes);
    BinaryDecoder dec(in.data() + p.streams_pos, in.size() - p.streams_pos);
    std::vector<uint8_t> scratch(d);
    for_each_piece(p.segs, d, [&](const SegmentInfo& s, uint64_t r, uint64_t col0, uint64_t len, uint64_t at) {
      uint8_t* dst = want(s, r, at);
      coder.decode(dec, dst != nullptr ? dst : scratch.data(), col0, len);
    });
    *end = in.size();
    if (dec.overrun()) return Error(ErrorCode::kCorrupt, "pc: the stream ends early");
    return Status::Ok();
  }
  BinaryDecoder ix(p.index.data(), p.index.size());
  IndexModel im;
  std::unique_ptr<RecordCoder> coder;
  std::unique_ptr<AdaptCoder> frozen;
  size_t stream = p.streams_pos;
  Status status;
  for_each_piece(p.segs, d, [&](const SegmentInfo& s, uint64_t r, uint64_t col0, uint64_t len, uint64_t at) {
    if (!status.ok()) return;
    bool escaped = false;
    uint64_t n = im.code(ix, &escaped, 0);
    if (escaped) n = len;
    if (ix.overrun() || n == 0 || n > len * kMaxStreamFactor || (!escaped && n == len) || n > in.size() - stream) {
      status = Error(ErrorCode::kCorrupt, "pc: bad record index");
      return;
    }
    uint8_t* dst = want(s, r, at);
    if (dst != nullptr) {
      const auto bytes = in.subspan(stream, n);
      if (escaped) {
        std::copy(bytes.begin(), bytes.end(), dst);
      } else if (config.mixing) {
        if (!frozen) frozen = std::make_unique<AdaptCoder>(prior);
        BinaryDecoder dec(bytes.data(), bytes.size());
        frozen->decode(dec, dst, col0, len);
        if (dec.overrun() || !dec.exhausted()) status = Error(ErrorCode::kCorrupt, "pc: a record's stream is corrupt");
      } else {
        if (!coder) coder = std::make_unique<RecordCoder>(prior);
        if (!coder->decode(bytes, col0, len, dst)) status = Error(ErrorCode::kCorrupt, "pc: a record's stream is corrupt");
      }
    }
    stream += n;
  });
  *end = stream;
  return status;
}

}  // namespace

Status pc_decode(const PcConfig& config, std::span<const uint8_t> in, std::span<uint8_t> out) {
  std::shared_ptr<const Prior> prior;
  SIBYL_RETURN_IF_ERROR(get_prior(config, &prior));
  const uint32_t d = prior->model.vars;
  Parsed p;
  SIBYL_RETURN_IF_ERROR(parse_payload(in, out.size(), d, config.adapt, &p));
  size_t stored = p.bytes_pos;
  uint64_t pos = 0;
  for (const SegmentInfo& s : p.segs) {
    if (s.kind == 0) {
      std::copy_n(in.begin() + static_cast<std::ptrdiff_t>(stored), s.count, out.begin() + static_cast<std::ptrdiff_t>(pos));
      stored += s.count;
    }
    pos += s.bytes(d);
  }
  size_t end = 0;
  SIBYL_RETURN_IF_ERROR(decode_pieces(*prior, config, in, p, out.size(), [&](const SegmentInfo&, uint64_t, uint64_t at) { return out.data() + at; }, &end));
  if (end != in.size()) return Error(ErrorCode::kCorrupt, "pc: payload has trailing bytes");
  return Status::Ok();
}

Status pc_decode_record(const PcConfig& config, std::span<const uint8_t> payload, uint64_t number,
                        std::vector<uint8_t>* record, uint64_t* covered) {
  std::shared_ptr<const Prior> prior;
  SIBYL_RETURN_IF_ERROR(get_prior(config, &prior));
  const uint32_t d = prior->model.vars;
  record->resize(d);
  // The block's size is what its segments add up to (checked again by parse_payload).
  size_t q = 0;
  uint64_t n, total = 0;
  if (!get_varint(payload, &q, &n) || n > kMaxSegments) return Error(ErrorCode::kCorrupt, "pc: bad segment table");
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t kind, count, skip;
    if (!get_varint(payload, &q, &kind) || kind > 2 || !get_varint(payload, &q, &count) || count > (uint64_t(1) << 32) ||
        (kind != 0 && !get_varint(payload, &q, &skip)) || (kind == 2 && !get_varint(payload, &q, &skip)))
      return Error(ErrorCode::kCorrupt, "pc: bad segment table");
    total += kind == 1 ? count * d : count;
  }
  Parsed p;
  SIBYL_RETURN_IF_ERROR(parse_payload(payload, total, d, config.adapt, &p));
  size_t end = 0;
  return decode_pieces(*prior, config, payload, p, total, [&](const SegmentInfo& s, uint64_t r, uint64_t) -> uint8_t* {
    if (s.first_record + r != number) return nullptr;
    const uint64_t col0 = s.kind == 2 ? s.col0 : 0, len = s.kind == 2 ? s.count : d;
    *covered += len;
    return record->data() + col0;
  }, &end);
}

tensor::Layout record_layout(std::span<const uint8_t> prefix, uint32_t record, uint32_t* width) {
  if (width != nullptr) *width = 0;
  tensor::Layout l;
  tensor::Region r;
  r.record = record;
  Collection c;
  // A PGM of several records: a strip of records stacked vertically (the
  // record's rows as wide as the image), e.g. a test set as one image.
  if (parse_collection(prefix, &c) && std::string(c.container) == "pgm" && c.record != record && record != 0) {
    const uint64_t cols = c.record / c.shape_rows;
    if (cols != 0 && record % cols == 0 && c.record % record == 0) {
      c.count = c.record / record;
      c.record = record;
    }
  }
  if (c.record == record && c.container[0] != '\0') {
    l.container = c.container;
    l.header_bytes = c.header_bytes;
    if (width != nullptr && c.row != 0 && c.row <= record && record % c.row == 0) *width = static_cast<uint32_t>(c.row);
    r.offset = c.header_bytes;
    r.bytes = c.count * c.record;
  } else {
    l.container = "raw";
    r.offset = 0;
    r.bytes = UINT64_MAX;
  }
  l.regions.push_back(r);
  return l;
}

}  // namespace sibyl::pc
