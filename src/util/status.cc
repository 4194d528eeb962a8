#include "lineup/status.h"

namespace lineup {

namespace {
const char* CodeName(Status::Code c) {
  switch (c) {
    case Status::Code::kOk: return "OK";
    case Status::Code::kInvalidArgument: return "invalid input";
    case Status::Code::kNotFound: return "not found";
    case Status::Code::kNoFace: return "no face";
    case Status::Code::kCorrupt: return "corrupt";
    case Status::Code::kIOError: return "I/O error";
    case Status::Code::kInternal: return "internal error";
    case Status::Code::kUnauthenticated: return "not signed in";
    case Status::Code::kPermissionDenied: return "not allowed";
    case Status::Code::kFailedPrecondition: return "not possible now";
    case Status::Code::kUnavailable: return "unavailable";
  }
  return "unknown";
}
}  // namespace

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(code_)) + ": " + message_;
}

Status Status::WithContext(const std::string& context) const {
  if (ok()) return *this;
  return Status(code_, context + ": " + message_);
}

}  // namespace lineup
