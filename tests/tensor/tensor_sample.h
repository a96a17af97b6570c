// Deterministic tensor containers for tests: a safetensors file with one
// tensor of every element type the codec models, and NPY files. Values are
// Gaussian-like (sum of uniforms) with a scale per column, as trained
// weights have, plus the awkward ones: zeros of both signs, subnormals,
// infinities, NaNs, integer extremes.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "codecs/tensor/float_bits.h"

namespace sibyl::test {

class SampleRng {
 public:
  explicit SampleRng(uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    s_ ^= s_ << 13;
    s_ ^= s_ >> 7;
    s_ ^= s_ << 17;
    return s_;
  }
  double uniform() { return static_cast<double>(next() >> 11) / 9007199254740992.0; }
  double gauss() {
    double v = 0;
    for (int i = 0; i < 6; ++i) v += uniform();
    return (v - 3.0) * 1.41421356;
  }

 private:
  uint64_t s_;
};

inline uint32_t f32_bits(float f) { return tensor::bits_of_float(f); }
inline uint16_t f16_bits(float f) { return tensor::float_to_f16(f); }
inline uint16_t bf16_bits(float f) { return tensor::float_to_bf16(f); }

struct SampleTensor {
  std::string name, dtype;  // safetensors dtype name
  std::vector<uint64_t> shape;
  std::vector<uint8_t> data;
};

// Values of `rows` x `cols` with a scale per column and a few special values.
inline std::vector<double> sample_values(uint64_t seed, size_t rows, size_t cols) {
  SampleRng rng(seed);
  std::vector<double> scale(cols);
  for (auto& s : scale) s = 0.01 * (1.0 + 8.0 * rng.uniform());
  std::vector<double> v(rows * cols);
  for (size_t i = 0; i < v.size(); ++i) v[i] = rng.gauss() * scale[i % cols];
  return v;
}

inline void put_le(std::vector<uint8_t>& out, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

inline uint64_t read_le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

inline SampleTensor make_sample_tensor(const std::string& dtype, size_t rows, size_t cols, uint64_t seed) {
  SampleTensor t;
  t.name = "layer" + std::to_string(seed) + "." + dtype;
  t.dtype = dtype;
  t.shape = {rows, cols};
  const std::vector<double> v = sample_values(seed, rows, cols);
  const float inf = __builtin_inff(), nan = __builtin_nanf("");
  for (size_t i = 0; i < v.size(); ++i) {
    float f = static_cast<float>(v[i]);
    // Special values at fixed places.
    if (i == 3) f = 0.0f;
    if (i == 4) f = -0.0f;
    if (i == 5) f = 1e-40f;  // f32 subnormal
    if (i == 6) f = inf;
    if (i == 7) f = -inf;
    if (i == 8) f = nan;
    if (i == 9) f = 6e-8f;  // f16 subnormal
    if (dtype == "F32") put_le(t.data, f32_bits(f), 4);
    else if (dtype == "F16") put_le(t.data, f16_bits(f), 2);
    else if (dtype == "BF16") put_le(t.data, bf16_bits(f), 2);
    else if (dtype == "F64") {
      double d = v[i];
      if (i == 6) d = static_cast<double>(inf);
      if (i == 8) d = static_cast<double>(nan);
      uint64_t u;
      std::memcpy(&u, &d, 8);
      put_le(t.data, u, 8);
    } else {
      const long long q = static_cast<long long>(v[i] * 3000.0);
      if (dtype == "I8") put_le(t.data, static_cast<uint64_t>(i == 3 ? -128 : (q % 128)), 1);
      else if (dtype == "U8") put_le(t.data, static_cast<uint64_t>(i == 3 ? 255 : (q < 0 ? -q : q) % 256), 1);
      else if (dtype == "I16") put_le(t.data, static_cast<uint64_t>(i == 3 ? -32768 : q), 2);
      else if (dtype == "U16") put_le(t.data, static_cast<uint64_t>(i == 3 ? 65535 : (q < 0 ? -q : q)), 2);
      else if (dtype == "I32") put_le(t.data, static_cast<uint64_t>(i == 3 ? INT32_MIN : q * 1000), 4);
      else if (dtype == "U32") put_le(t.data, static_cast<uint64_t>(i == 3 ? UINT32_MAX : (q < 0 ? -q : q) * 1000), 4);
    }
  }
  return t;
}

// A safetensors file of the given tensors (header padded to 8 bytes).
inline std::vector<uint8_t> make_safetensors(const std::vector<SampleTensor>& ts) {
  std::string json = "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"sibyl test \\u00e9\"}";
  uint64_t off = 0;
  for (const auto& t : ts) {
    json += ",\"" + t.name + "\":{\"dtype\":\"" + t.dtype + "\",\"shape\":[";
    for (size_t i = 0; i < t.shape.size(); ++i) {
      if (i > 0) json.push_back(',');
      json.append(std::to_string(t.shape[i]));
    }
    json += "],\"data_offsets\":[" + std::to_string(off) + "," + std::to_string(off + t.data.size()) + "]}";
    off += t.data.size();
  }
  json += "}";
  while (json.size() % 8 != 0) json += ' ';
  std::vector<uint8_t> out;
  put_le(out, json.size(), 8);
  out.insert(out.end(), json.begin(), json.end());
  for (const auto& t : ts) out.insert(out.end(), t.data.begin(), t.data.end());
  return out;
}

// Every element type the codec models, in one file.
inline std::vector<uint8_t> make_sample_safetensors(size_t rows = 40, size_t cols = 96) {
  std::vector<SampleTensor> ts;
  const char* types[] = {"F32", "F16", "BF16", "F64", "I8", "U8", "I16", "U16", "I32", "U32"};
  uint64_t seed = 1;
  for (const char* t : types) ts.push_back(make_sample_tensor(t, rows, cols, seed++));
  ts.push_back(make_sample_tensor("F32", 1, 300, seed++));  // a bias vector
  return make_safetensors(ts);
}

// An NPY v1 file of f32 values [rows, cols] (C order, or Fortran order).
inline std::vector<uint8_t> make_sample_npy(size_t rows, size_t cols, bool fortran, uint64_t seed) {
  std::string h = "{'descr': '<f4', 'fortran_order': " + std::string(fortran ? "True" : "False") + ", 'shape': (" +
                  std::to_string(rows) + ", " + std::to_string(cols) + "), }";
  while ((10 + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  put_le(out, h.size(), 2);
  out.insert(out.end(), h.begin(), h.end());
  const std::vector<double> v = sample_values(seed, rows, cols);
  for (double d : v) put_le(out, f32_bits(static_cast<float>(d)), 4);
  return out;
}

// A KV cache [layers, heads, tokens, channels] as f32: every layer with its
// own scale (1 to 1000) unless `grouped`, and within a head the channels
// drift slowly along the tokens.
inline std::vector<uint8_t> kv_values(uint64_t layers, uint64_t heads, uint64_t tokens, uint64_t channels, bool grouped) {
  SampleRng rng(42);
  std::vector<uint8_t> out;
  for (uint64_t l = 0; l < layers; ++l) {
    const double scale = grouped ? 1.0 : std::pow(10.0, 3.0 * static_cast<double>(l) / static_cast<double>(layers - 1));
    for (uint64_t h = 0; h < heads; ++h) {
      std::vector<double> v(channels);
      for (auto& x : v) x = rng.gauss();
      for (uint64_t t = 0; t < tokens; ++t) {
        for (uint64_t c = 0; c < channels; ++c) {
          double x;
          if (grouped) {
            // Tokens of a group of 8 repeat their anchor, every other one
            // shifted: the previous token is a poor predictor, the anchor a good one.
            if (t % 8 == 0) v[c] = rng.gauss();
            x = v[c] + ((t % 8) % 2 ? 0.5 : 0.0) + 0.001 * rng.gauss();
          } else {
            v[c] += 0.05 * rng.gauss();
            x = v[c];
          }
          put_le(out, f32_bits(static_cast<float>(scale * x)), 4);
        }
      }
    }
  }
  return out;
}

}  // namespace sibyl::test
