// Status and Result<T>: how every Lineup library call reports success or failure.
//
// Errors are values, never exceptions crossing the API. A Status is either OK or
// carries a code and a one-line message meant for a person ("photo.jpg: not an
// image (text)"). Front ends map codes to exit codes and HTTP codes in one place.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace lineup {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // bad input from the caller: unreadable photo, bad option
    kNotFound,         // a file, face or record that does not exist
    kNoFace,           // input was fine but holds no usable face
    kCorrupt,          // stored data (a model, a file of ours) failed a check
    kIOError,          // the operating system refused a read or write
    kInternal,         // a bug or an unexpected library failure
    kUnauthenticated,  // no valid credentials (password, session or token)
    kPermissionDenied, // known caller, but their role or case does not allow this
    kFailedPrecondition,  // the request is fine but the state forbids it (closed case)
    kUnavailable,      // try again later: throttled login, server busy
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
  static Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
  static Status NoFace(std::string m) { return Status(Code::kNoFace, std::move(m)); }
  static Status Corrupt(std::string m) { return Status(Code::kCorrupt, std::move(m)); }
  static Status IOError(std::string m) { return Status(Code::kIOError, std::move(m)); }
  static Status Internal(std::string m) { return Status(Code::kInternal, std::move(m)); }
  static Status Unauthenticated(std::string m) { return Status(Code::kUnauthenticated, std::move(m)); }
  static Status PermissionDenied(std::string m) { return Status(Code::kPermissionDenied, std::move(m)); }
  static Status FailedPrecondition(std::string m) { return Status(Code::kFailedPrecondition, std::move(m)); }
  static Status Unavailable(std::string m) { return Status(Code::kUnavailable, std::move(m)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "OK" or "<code name>: <message>".
  std::string ToString() const;
  // The same status with "context: " put before the message.
  Status WithContext(const std::string& context) const;

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status explaining why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}             // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}     // NOLINT: must not be OK
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace lineup
