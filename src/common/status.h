// Errors are values: every fallible call returns a Status with a stable code
// and a message. The library never prints, exits or aborts on bad input.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace sibyl {

// Stable numeric codes (the C API will expose the same numbers; never renumber).
enum class ErrorCode : int {
  kOk = 0,
  kIo = 1,                  // read/write failure of the underlying stream
  kCorrupt = 2,             // structurally invalid archive data
  kTruncated = 3,           // archive ends before a frame is complete
  kChecksum = 4,            // decoded bytes do not match the stored xxh64
  kUnsupportedVersion = 5,  // format version newer than this build knows
  kUnknownCodec = 6,        // codec id not known to this build
  kBadParameters = 7,       // codec parameters this build cannot honour
  kMemoryLimit = 8,         // decoding would need more memory than allowed
  kInvalidArgument = 9,     // caller error (bad option, bad level, ...)
  kNotSibyl = 10,           // input does not start with the Sibyl magic
  kInternal = 11,           // a bug: an invariant did not hold
  kDstTooSmall = 12,        // the caller's output buffer cannot hold the result
  kOutOfMemory = 13,        // an allocation failed
  kUnsupported = 14,        // a valid request this build cannot serve (feature not built in)
  kStage = 15,              // call out of order (e.g. a parameter set in the middle of a stream)
};

const char* error_code_name(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

inline Status Error(ErrorCode code, std::string message) { return Status(code, std::move(message)); }

#define SIBYL_RETURN_IF_ERROR(expr)     \
  do {                                  \
    ::sibyl::Status sibyl_status_ = (expr); \
    if (!sibyl_status_.ok()) return sibyl_status_; \
  } while (0)

}  // namespace sibyl
