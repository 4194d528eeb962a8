// SigningKey: the gallery's Ed25519 key (libsodium crypto_sign), which signs what the
// gallery hands out as evidence (evidence.h), so that anyone holding the public half can
// check offline that a bundle is the one this gallery made.
//
// The secret half lives in the gallery directory as signing_key.ed25519, mode 0600,
// and never leaves it: nothing prints or returns it. `lineup init` creates the key for a
// new gallery; a gallery made before keys existed gets one on first need (the first
// export, `lineup key show`, GET /v1/signing-key). Creation is written to the audit log
// (action signing_key_create, with the fingerprint) and is safe against a concurrent
// creator: the file appears whole or not at all, and whoever comes second loads the
// first one's key. A key file that others may read is refused, as ssh refuses one.
// A SigningKey is immutable and safe to use from many threads.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "lineup/audit_log.h"
#include "lineup/status.h"

namespace lineup {

// The file, inside the gallery directory.
inline constexpr const char* kSigningKeyFile = "signing_key.ed25519";

class SigningKey {
 public:
  // The gallery's key, created (and recorded in `audit` as `actor`, if audit is given)
  // when there is none. IOError if it cannot be written; FailedPrecondition for a key file
  // others may read; Corrupt for one that is not a key; Unavailable (and no key left
  // behind) if its creation cannot be recorded.
  static Result<SigningKey> LoadOrCreate(const std::string& gallery_dir, AuditLog* audit, const std::string& actor);
  // The gallery's key; NotFound if it has none yet.
  static Result<SigningKey> Load(const std::string& gallery_dir);

  SigningKey(const SigningKey& other) = default;
  SigningKey& operator=(const SigningKey& other) = default;
  ~SigningKey();

  // The public key (32 bytes) in standard base64 with padding: 44 characters.
  std::string PublicKeyBase64() const;
  // SHA-256 of the 32 public key bytes, 64 lower-case hex digits: what people compare.
  std::string Fingerprint() const;
  // The detached Ed25519 signature (64 bytes) of `message`, in standard base64.
  std::string Sign(std::string_view message) const;
  // True if this call made the key (LoadOrCreate only).
  bool created() const { return created_; }

 private:
  SigningKey() = default;
  std::array<unsigned char, 64> secret_{};  // libsodium's secret key: seed, then public key
  std::array<unsigned char, 32> public_{};
  bool created_ = false;
};

// Parses a public key given as standard base64 (44 characters): InvalidArgument otherwise.
Result<std::array<unsigned char, 32>> ParsePublicKey(std::string_view base64);
// The fingerprint (as SigningKey::Fingerprint) of a public key.
std::string KeyFingerprint(const std::array<unsigned char, 32>& public_key);
// True if `signature_base64` is a valid Ed25519 signature of `message` by `public_key`.
bool VerifySignature(const std::array<unsigned char, 32>& public_key, std::string_view message,
                     std::string_view signature_base64);

}  // namespace lineup
