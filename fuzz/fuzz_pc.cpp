// The probabilistic-circuit codec (codec 7) under hostile input, with a
// small prior made once at start (4 x 4 records of 5 values, latent 3) and
// a copy of it with a mixing model:
//   byte 0 < 0xF0   a block: flags = byte 0 % 7 (6 uses the mixing prior,
//                   the others the plain one), width 4; bytes 1..2 the
//                   original size (little-endian, at most 4 KiB); the rest
//                   the payload. The decoder must return an error or fill
//                   the output; never crash, hang or read out of bounds.
//   byte 0 >= 0xF0  the rest is a mixing model's bytes, parsed against the
//                   plain prior (parse_mixing): refused or accepted, and an
//                   accepted one codes a record and decodes it back.
// SIBYL_FUZZ_PC_SEEDS=DIR writes valid inputs of every kind into DIR.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "codecs/codec.h"
#include "codecs/pc/pc_adapt.h"
#include "codecs/pc/pc_codec.h"
#include "coder/binary_coder.h"
#include "model/pc/hclt.h"

namespace {

using namespace sibyl;

struct Priors {
  uint64_t plain = 0, mixed = 0;
  std::vector<uint8_t> mixing;
};

std::vector<uint8_t> records(size_t n, uint32_t seed) {
  std::vector<uint8_t> v;
  uint32_t s = seed;
  for (size_t i = 0; i < n * 16; ++i) {
    s = s * 1103515245u + 12345u;
    const uint32_t x = i % 4, y = (i / 4) % 4;
    v.push_back(static_cast<uint8_t>((x + y + (s >> 16) % 2) % 5));
  }
  return v;
}

void write(const std::string& dir, const std::string& name, const std::vector<uint8_t>& d) {
  std::ofstream(dir + "/" + name, std::ios::binary).write(reinterpret_cast<const char*>(d.data()), static_cast<std::streamsize>(d.size()));
}

const Priors& priors() {
  static const Priors p = [] {
    Priors out;
    pc::TrainOptions t;
    t.latent = 3;
    t.epochs = 2;
    t.batch = 64;
    const auto train = records(200, 1);
    pc::Hclt m;
    if (!pc::train_hclt(train.data(), 200, 16, 5, t, &m).ok()) std::abort();
    if (!pc::register_prior(pc::write_prior(m), &out.plain).ok()) std::abort();
    m.mixing = pc::train_mixing(*pc::find_prior(out.plain), train.data(), 200, 4);
    out.mixing = m.mixing;
    if (!pc::register_prior(pc::write_prior(m), &out.mixed).ok()) std::abort();
    if (const char* dir = std::getenv("SIBYL_FUZZ_PC_SEEDS")) {
      const auto recs = records(6, 2);
      for (uint8_t flags : {0, 4, 5, 6}) {
        std::vector<uint8_t> params = pc::pc_params(flags == 6 ? out.mixed : out.plain, flags == 4 || flags == 5, 4);
        params[9] = flags;
        pc::PcConfig c;
        if (!pc::PcConfig::parse(params, &c).ok()) std::abort();
        const tensor::Layout layout = pc::record_layout(recs, 16);
        std::vector<uint8_t> payload;
        if (!pc::pc_encode(c, tensor::block_segments(layout, 0, recs.size()), recs, payload).ok()) std::abort();
        std::vector<uint8_t> back(recs.size());
        if (!pc::pc_decode(c, payload, back).ok() || back != recs) std::abort();
        std::vector<uint8_t> in(3 + payload.size());
        in[0] = flags;
        in[1] = static_cast<uint8_t>(recs.size());
        in[2] = static_cast<uint8_t>(recs.size() >> 8);
        std::copy(payload.begin(), payload.end(), in.begin() + 3);
        write(dir, "flags" + std::to_string(flags), in);
      }
      std::vector<uint8_t> in(1 + out.mixing.size());
      in[0] = 0xF0;
      std::copy(out.mixing.begin(), out.mixing.end(), in.begin() + 1);
      write(dir, "mixing", in);
    }
    return out;
  }();
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Priors& p = priors();
  if (size < 1) return 0;
  if (data[0] >= 0xF0) {
    const pc::Prior& prior = *pc::find_prior(p.plain);
    std::shared_ptr<const pc::MixingModel> mix;
    if (!pc::parse_mixing(prior, std::span<const uint8_t>(data + 1, size - 1), &mix).ok()) return 0;
    // An accepted model codes a record and gets it back.
    pc::Prior with;
    with.model = prior.model;
    with.tree = prior.tree;
    with.trans_t = prior.trans_t;
    with.mixing = mix;
    const auto rec = records(1, 3);
    std::vector<uint8_t> stream, back(16);
    {
      pc::AdaptCoder enc_model(with);
      BinaryEncoder enc(stream);
      enc_model.encode(enc, rec.data(), 0, 16);
      enc.flush();
    }
    pc::AdaptCoder dec_model(with);
    BinaryDecoder dec(stream.data(), stream.size());
    dec_model.decode(dec, back.data(), 0, 16);
    if (back != rec) std::abort();
    return 0;
  }
  if (size < 3) return 0;
  const uint8_t flags = data[0] % 7;
  std::vector<uint8_t> params = pc::pc_params(flags == 6 ? p.mixed : p.plain, true, 4);
  params[9] = flags;
  if (flags == 0) params.resize(10);
  const size_t orig = (static_cast<size_t>(data[1]) | static_cast<size_t>(data[2]) << 8) % 4097;
  const Codec* codec = find_codec(7);
  uint64_t memory = 0;
  if (!codec || !codec->check_params(params, &memory).ok()) return 0;
  std::vector<uint8_t> out(orig);
  (void)codec->decode(params, std::span<const uint8_t>(data + 3, size - 3), out);
  return 0;
}
