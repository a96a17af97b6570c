// The one coding loop shared by compression and decompression.
//
// For every bit: the model predicts, the coder codes, the model learns.
// The coder is the only part that differs between the two directions:
// BinaryEncoder::code() writes the bit it is given, BinaryDecoder::code()
// ignores it and returns the decoded bit. `data` is the input when
// encoding and the output buffer when decoding (where the loop stores each
// byte as soon as it is known), so in both directions a model may read
// `data[0..pos)` as its history.
//
// Model interface:  int p16();          P(next bit = 1), 16-bit, 1..65535
//                   void update(int bit);
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace sibyl {

// Byte is `const uint8_t` when encoding, `uint8_t` when decoding.
template <class Model, class Coder, class Byte>
void code_bytes(Model& model, Coder& coder, Byte* data, size_t size) {
  for (size_t pos = 0; pos < size; ++pos) {
    if constexpr (Coder::kDecoding) {
      // A corrupt payload that has run out stops early instead of making
      // the decoder spin through a whole block of garbage.
      if ((pos & 4095) == 0 && coder.overrun()) return;
    }
    const int in = Coder::kDecoding ? 0 : data[pos];
    int c = 0;
    for (int i = 7; i >= 0; --i) {
      const int bit = coder.code((in >> i) & 1, static_cast<uint32_t>(model.p16()));
      c = (c << 1) | bit;
      // The byte is stored before the model sees its last bit, so the
      // model's byte-boundary step can read it from `data`.
      if constexpr (Coder::kDecoding) {
        if (i == 0) data[pos] = static_cast<uint8_t>(c);
      }
      model.update(bit);
    }
  }
}

// The same loop for models that code a whole byte per call:
//   int code_byte(Coder&, int in);   returns the byte (`in` when encoding)
//   void end_byte(size_t pos);       called once data[pos - 1] holds it
template <class Model, class Coder, class Byte>
void code_bytewise(Model& model, Coder& coder, Byte* data, size_t size) {
  for (size_t pos = 0; pos < size; ++pos) {
    if constexpr (Coder::kDecoding) {
      if ((pos & 4095) == 0 && coder.overrun()) return;
      data[pos] = static_cast<uint8_t>(model.code_byte(coder, 0));
    } else {
      model.code_byte(coder, data[pos]);
    }
    model.end_byte(pos + 1);
  }
}

}  // namespace sibyl
