#include "common/status.h"

namespace sibyl {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kIo: return "io";
    case ErrorCode::kCorrupt: return "corrupt";
    case ErrorCode::kTruncated: return "truncated";
    case ErrorCode::kChecksum: return "checksum";
    case ErrorCode::kUnsupportedVersion: return "unsupported_version";
    case ErrorCode::kUnknownCodec: return "unknown_codec";
    case ErrorCode::kBadParameters: return "bad_parameters";
    case ErrorCode::kMemoryLimit: return "memory_limit";
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kNotSibyl: return "not_sibyl";
    case ErrorCode::kInternal: return "internal";
    case ErrorCode::kDstTooSmall: return "dst_too_small";
    case ErrorCode::kOutOfMemory: return "out_of_memory";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kStage: return "stage_wrong";
  }
  return "unknown";
}

}  // namespace sibyl
