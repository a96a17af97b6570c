#include "codecs/pc/collection.h"

#include <cstring>

namespace sibyl::pc {

namespace {

constexpr uint64_t kMaxRecord = uint64_t(1) << 24;

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

void add_dim(std::string* shape, uint64_t d) {
  if (!shape->empty()) shape->push_back('x');
  shape->append(std::to_string(d));
}

// IDX: 00 00 08 ndim, ndim big-endian u32 sizes, then unsigned bytes.
bool parse_idx(std::span<const uint8_t> f, Collection* c) {
  if (f.size() < 4 || f[0] != 0 || f[1] != 0 || f[2] != 0x08 || f[3] < 2) return false;
  const size_t nd = f[3];
  if (f.size() < 4 + 4 * nd) return false;
  c->count = be32(&f[4]);
  c->record = 1;
  for (size_t i = 1; i < nd; ++i) {
    const uint32_t d = be32(&f[4 + 4 * i]);
    c->record *= d;
    if (d == 0 || c->record > kMaxRecord) return false;
    add_dim(&c->shape, d);
    c->row = d;
  }
  c->header_bytes = 4 + 4 * nd;
  c->container = "idx";
  return true;
}

// NPY v1-v3, descr |u1 (or <u1, >u1), C order, shape (N, d1, ...).
bool parse_npy(std::span<const uint8_t> f, Collection* c) {
  static const uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (f.size() < 10 || std::memcmp(f.data(), magic, 6) != 0) return false;
  size_t hlen, hstart;
  if (f[6] == 1) {
    hlen = f[8] | size_t(f[9]) << 8, hstart = 10;
  } else if ((f[6] == 2 || f[6] == 3) && f.size() >= 12) {
    hlen = f[8] | size_t(f[9]) << 8 | size_t(f[10]) << 16 | size_t(f[11]) << 24, hstart = 12;
  } else {
    return false;
  }
  if (hlen > f.size() - hstart) return false;
  const std::string h(reinterpret_cast<const char*>(f.data() + hstart), hlen);
  // The value after 'key': up to the next ',' or '}' (a tuple: up to ')').
  auto field = [&](const char* key) -> std::string {
    const size_t k = h.find(key);
    if (k == std::string::npos) return "";
    size_t p = h.find(':', k);
    if (p == std::string::npos) return "";
    for (++p; p < h.size() && h[p] == ' ';) ++p;
    if (p < h.size() && h[p] == '(') {
      const size_t e = h.find(')', p);
      return e == std::string::npos ? "" : h.substr(p + 1, e - p - 1);
    }
    const size_t e = h.find_first_of(",}", p);
    return e == std::string::npos ? "" : h.substr(p, e - p);
  };
  const std::string descr = field("'descr'"), order = field("'fortran_order'"), dims = field("'shape'");
  if (descr != "'|u1'" && descr != "'<u1'" && descr != "'>u1'") return false;
  if (order != "False") return false;
  uint64_t d[32];
  size_t nd = 0;
  for (size_t p = 0; p < dims.size();) {
    while (p < dims.size() && (dims[p] == ' ' || dims[p] == ',')) ++p;
    if (p >= dims.size()) break;
    if (dims[p] < '0' || dims[p] > '9' || nd == 32) return false;
    uint64_t v = 0;
    while (p < dims.size() && dims[p] >= '0' && dims[p] <= '9') {
      v = v * 10 + uint64_t(dims[p++] - '0');
      if (v > (uint64_t(1) << 40)) return false;
    }
    d[nd++] = v;
  }
  if (nd < 2) return false;
  c->count = d[0];
  c->record = 1;
  for (size_t i = 1; i < nd; ++i) {
    c->record *= d[i];
    if (d[i] == 0 || c->record > kMaxRecord) return false;
    add_dim(&c->shape, d[i]);
    c->row = d[i];
  }
  c->header_bytes = hstart + hlen;
  c->container = "npy";
  return true;
}

// Binary PGM (P5, maxval < 256, comments allowed): one record.
bool parse_pgm(std::span<const uint8_t> f, Collection* c) {
  if (f.size() < 3 || f[0] != 'P' || f[1] != '5') return false;
  size_t p = 2;
  uint64_t v[3];
  for (int i = 0; i < 3; ++i) {
    for (;;) {
      while (p < f.size() && (f[p] == ' ' || f[p] == '\t' || f[p] == '\n' || f[p] == '\r')) ++p;
      if (p < f.size() && f[p] == '#') {
        while (p < f.size() && f[p] != '\n') ++p;
        continue;
      }
      break;
    }
    if (p >= f.size() || f[p] < '0' || f[p] > '9') return false;
    v[i] = 0;
    while (p < f.size() && f[p] >= '0' && f[p] <= '9') {
      v[i] = v[i] * 10 + uint64_t(f[p++] - '0');
      if (v[i] > (1u << 24)) return false;
    }
  }
  if (p >= f.size() || v[0] == 0 || v[1] == 0 || v[2] == 0 || v[2] > 255 || v[0] * v[1] > kMaxRecord) return false;
  c->header_bytes = p + 1;  // one whitespace byte ends the header
  c->count = 1;
  c->record = v[0] * v[1];
  c->max_value = uint32_t(v[2]);
  c->shape_rows = v[1];
  c->row = v[0];
  add_dim(&c->shape, v[1]);
  add_dim(&c->shape, v[0]);
  c->container = "pgm";
  return true;
}

}  // namespace

bool parse_collection(std::span<const uint8_t> prefix, Collection* out) {
  Collection c;
  if (parse_idx(prefix, &c) || (c = Collection{}, parse_npy(prefix, &c)) || (c = Collection{}, parse_pgm(prefix, &c))) {
    *out = c;
    return true;
  }
  return false;
}

}  // namespace sibyl::pc
