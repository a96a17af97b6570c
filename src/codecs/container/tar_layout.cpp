#include "codecs/container/tar_layout.h"

#include <algorithm>
#include <cstring>

#include "codecs/bytes/x86_filter.h"

namespace sibyl::tar {

namespace {

constexpr size_t kBlock = 512;

// An octal field (NUL or space terminated); GNU base-256 sizes (high bit
// set) are read too. False when malformed.
bool octal(const uint8_t* f, size_t n, uint64_t* out) {
  if (f[0] & 0x80) {
    uint64_t v = f[0] & 0x7f;
    for (size_t i = 1; i < n; ++i) {
      if (v >> 55) return false;
      v = v << 8 | f[i];
    }
    *out = v;
    return true;
  }
  uint64_t v = 0;
  size_t i = 0;
  while (i < n && f[i] == ' ') ++i;
  size_t digits = 0;
  for (; i < n && f[i] >= '0' && f[i] <= '7'; ++i, ++digits) {
    if (v >> 60) return false;
    v = v * 8 + (f[i] - '0');
  }
  if (i < n && f[i] != 0 && f[i] != ' ') return false;
  *out = v;
  return digits > 0;
}

bool valid_header(const uint8_t* h) {
  if (std::memcmp(h + 257, "ustar", 5) != 0) return false;
  uint64_t stored;
  if (!octal(h + 148, 8, &stored)) return false;
  uint64_t sum = 0;
  for (size_t i = 0; i < kBlock; ++i) sum += (i >= 148 && i < 156) ? ' ' : h[i];
  return sum == stored;
}

// Regions of a member whose data `member` (the bytes of it at hand) starts
// at stream offset `data` and holds `size` bytes, as if it were a stream of
// its own: an NPY or safetensors file's numbers, a WAV file's samples, an
// image (PNM/PAM, BMP, TIFF). A tar inside the tar stays bytes.
// An ELF file for i386 or x86-64, or a PE file for i386 or AMD64, from
// its first bytes.
bool x86_executable(std::span<const uint8_t> m) {
  if (m.size() >= 20 && std::memcmp(m.data(), "\x7f" "ELF", 4) == 0) {
    const int machine = m[18] | m[19] << 8;  // little-endian files only
    return m[5] == 1 && (machine == 3 || machine == 62);
  }
  if (m.size() >= 64 && m[0] == 'M' && m[1] == 'Z') {
    const uint64_t pe = uint64_t(m[60]) | uint64_t(m[61]) << 8 | uint64_t(m[62]) << 16 | uint64_t(m[63]) << 24;
    if (pe > m.size() - 6 || std::memcmp(m.data() + pe, "PE\0\0", 4) != 0) return false;
    const int machine = m[pe + 4] | m[pe + 5] << 8;
    return machine == 0x14c || machine == 0x8664;
  }
  return false;
}

void member_regions(std::span<const uint8_t> member, uint64_t data, uint64_t size, bool code,
                    std::vector<tensor::Region>* out) {
  if (code && size >= kMinCodeMember && x86_executable(member) && x86::looks_like_x86(member)) {
    tensor::Region r;
    r.offset = data;
    r.bytes = size;
    r.code = true;
    out->push_back(r);
    return;
  }
  const tensor::Layout found = tensor::detect_file(member, size);
  for (tensor::Region r : found.regions) {
    if (r.offset >= size) continue;
    r.bytes = std::min(r.bytes, size - r.offset);
    r.offset += data;
    out->push_back(r);
  }
}

}  // namespace

bool starts_tar(std::span<const uint8_t> prefix) { return prefix.size() >= kBlock && valid_header(prefix.data()); }

void Walker::feed(std::span<const uint8_t> block, uint64_t start, std::vector<tensor::Region>* regions) {
  const uint64_t end = start + block.size();
  // A member whose header ended where the last block did starts here.
  if (pending_size_ != 0 && pending_data_ == start && !block.empty())
    member_regions(block.first(static_cast<size_t>(std::min<uint64_t>(pending_size_, block.size()))), start,
                   pending_size_, code_members_, regions);
  pending_size_ = 0;
  while (!done_ && pos_ < end) {
    // The header: whole in this block, or its start kept from the last one.
    uint8_t joined[kBlock];
    const uint8_t* h;
    if (pos_ >= start) {
      if (end - pos_ < kBlock) {
        cut_.assign(block.begin() + static_cast<std::ptrdiff_t>(pos_ - start), block.end());
        return;
      }
      h = block.data() + (pos_ - start);
    } else {
      // pos_ lies in the last block: cut_ holds [pos_, start).
      const size_t have = cut_.size();
      if (pos_ + have != start || have >= kBlock) {
        done_ = true;
        return;
      }
      const size_t need = kBlock - have;
      if (block.size() < need) {
        cut_.insert(cut_.end(), block.begin(), block.end());
        return;
      }
      std::memcpy(joined, cut_.data(), have);
      std::memcpy(joined + have, block.data(), need);
      h = joined;
    }
    cut_.clear();
    uint64_t size = 0;
    if (!valid_header(h) || !octal(h + 124, 12, &size)) {  // also the zero blocks at the end
      done_ = true;
      return;
    }
    const uint8_t type = h[156];
    const uint64_t data = pos_ + kBlock;
    const bool regular = type == '0' || type == 0 || type == '7';
    if (regular && size > 0 && data >= start && data < end) {
      const std::span<const uint8_t> member = block.subspan(static_cast<size_t>(data - start),
                                                            static_cast<size_t>(std::min<uint64_t>(size, end - data)));
      member_regions(member, data, size, code_members_, regions);
    } else if (regular && size > 0 && data == end) {
      pending_data_ = data;
      pending_size_ = size;
    }
    // GNU long names ('L', 'K') and pax headers ('x', 'g') are members
    // like any other here: their data is skipped.
    const uint64_t padded = (size + kBlock - 1) / kBlock * kBlock;
    if (padded > UINT64_MAX - data) {
      done_ = true;
      return;
    }
    pos_ = data + padded;
  }
}

tensor::Layout detect_tar(std::span<const uint8_t> prefix) {
  tensor::Layout l;
  if (!starts_tar(prefix)) return l;
  Walker w;
  w.feed(prefix, 0, &l.regions);
  if (!l.regions.empty()) l.container = "tar";
  return l;
}

}  // namespace sibyl::tar
