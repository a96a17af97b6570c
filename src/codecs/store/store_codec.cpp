#include "codecs/store/store_codec.h"

#include <algorithm>

namespace sibyl {
namespace {

Status check(std::span<const uint8_t> params, uint64_t* memory) {
  if (!params.empty()) return Error(ErrorCode::kBadParameters, "store codec takes no parameters");
  *memory = 0;
  return Status::Ok();
}

Status encode(std::span<const uint8_t>, std::span<const uint8_t> in, std::vector<uint8_t>& out) {
  out.assign(in.begin(), in.end());
  return Status::Ok();
}

Status decode(std::span<const uint8_t>, std::span<const uint8_t> in, std::span<uint8_t> out) {
  if (in.size() != out.size()) return Error(ErrorCode::kCorrupt, "stored block size does not match its original size");
  std::copy(in.begin(), in.end(), out.begin());
  return Status::Ok();
}

}  // namespace

const Codec kStoreCodec = {kCodecStore, "store", check, encode, decode, nullptr};

}  // namespace sibyl
