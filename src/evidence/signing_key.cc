#include "lineup/signing_key.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "lineup/models.h"
#include "oversight/sqlite_db.h"

namespace lineup {

namespace fs = std::filesystem;

namespace {

// One line: a tag naming the format, a space, the 32-byte seed in standard base64.
constexpr std::string_view kTag = "lineup-ed25519-seed-v1";
constexpr size_t kMaxKeyFile = 1024;

std::string Base64(const unsigned char* data, size_t n) {
  std::vector<char> out(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL));
  sodium_bin2base64(out.data(), out.size(), data, n, sodium_base64_VARIANT_ORIGINAL);
  return out.data();
}

// Exactly `n` bytes from standard base64, or false.
bool FromBase64(std::string_view text, unsigned char* out, size_t n) {
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out, n, text.data(), text.size(), nullptr, &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0)
    return false;
  return len == n && end == text.data() + text.size();
}

std::string Errno() { return std::strerror(errno); }

Status WriteAll(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Status::IOError("cannot write the signing key: " + Errno());
    done += static_cast<size_t>(w);
  }
  return Status::OK();
}

}  // namespace

SigningKey::~SigningKey() { sodium_memzero(secret_.data(), secret_.size()); }

Result<SigningKey> SigningKey::Load(const std::string& gallery_dir) {
  if (Status s = oversight::SodiumReady(); !s.ok()) return s;
  const std::string path = (fs::path(gallery_dir) / kSigningKeyFile).string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": the gallery has no signing key yet");
    return Status::IOError(path + ": cannot open the signing key: " + Errno());
  }
  struct stat st {};
  std::string text;
  Status s = [&]() -> Status {
    if (::fstat(fd, &st) != 0) return Status::IOError(path + ": " + Errno());
    if (!S_ISREG(st.st_mode)) return Status::Corrupt(path + ": the signing key is not a regular file");
    if ((st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      return Status::FailedPrecondition(path + ": the signing key may be read by others (mode " + mode +
                                        "); make it private with `chmod 600 " + path + "`");
    }
    if (st.st_size > static_cast<off_t>(kMaxKeyFile)) return Status::Corrupt(path + ": not a signing key (too long)");
    text.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < text.size()) {
      const ssize_t r = ::read(fd, text.data() + got, text.size() - got);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return Status::IOError(path + ": cannot read the signing key");
      got += static_cast<size_t>(r);
    }
    return Status::OK();
  }();
  ::close(fd);
  if (!s.ok()) return s;
  if (!text.empty() && text.back() == '\n') text.pop_back();
  SigningKey key;
  unsigned char seed[crypto_sign_SEEDBYTES];
  const bool parsed = text.size() > kTag.size() + 1 && text.compare(0, kTag.size(), kTag) == 0 &&
                      text[kTag.size()] == ' ' &&
                      FromBase64(std::string_view(text).substr(kTag.size() + 1), seed, sizeof seed);
  sodium_memzero(text.data(), text.size());
  if (!parsed) return Status::Corrupt(path + ": not a Lineup signing key");
  crypto_sign_seed_keypair(key.public_.data(), key.secret_.data(), seed);
  sodium_memzero(seed, sizeof seed);
  return key;
}

Result<SigningKey> SigningKey::LoadOrCreate(const std::string& gallery_dir, AuditLog* audit, const std::string& actor) {
  auto existing = Load(gallery_dir);
  if (existing.ok() || existing.status().code() != Status::Code::kNotFound) return existing;
  const fs::path dir(gallery_dir);
  const std::string path = (dir / kSigningKeyFile).string();
  // Written whole to a private name, then linked into place: link() never replaces a key
  // another process made meanwhile, and a reader never sees half a file.
  const std::string tmp = path + ".new-" + oversight::RandomBase64Url(9);
  unsigned char seed[crypto_sign_SEEDBYTES];
  randombytes_buf(seed, sizeof seed);
  std::string line = std::string(kTag) + " " + Base64(seed, sizeof seed) + "\n";
  sodium_memzero(seed, sizeof seed);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    sodium_memzero(line.data(), line.size());
    return Status::IOError(tmp + ": cannot create the signing key: " + Errno());
  }
  Status s = ::fchmod(fd, 0600) == 0 ? WriteAll(fd, line) : Status::IOError(tmp + ": " + Errno());
  sodium_memzero(line.data(), line.size());
  if (s.ok() && ::fsync(fd) != 0) s = Status::IOError(tmp + ": cannot sync the signing key: " + Errno());
  ::close(fd);
  bool created = false;
  if (s.ok()) {
    if (::link(tmp.c_str(), path.c_str()) == 0) created = true;
    else if (errno != EEXIST) s = Status::IOError(path + ": cannot put the signing key in place: " + Errno());
  }
  ::unlink(tmp.c_str());
  if (!s.ok()) return s;
  if (created) {
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }
  auto key = Load(gallery_dir);
  if (!key.ok() || !created) return key;
  key->created_ = true;
  if (audit) {
    auto rec = audit->Append(actor, "signing_key_create", 0,
                             nlohmann::json{{"algorithm", "Ed25519"},
                                            {"public_key", key->PublicKeyBase64()},
                                            {"fingerprint", key->Fingerprint()},
                                            {"file", kSigningKeyFile}}
                                 .dump());
    if (!rec.ok()) {
      // An unrecorded key must not sign anything.
      ::unlink(path.c_str());
      return Status::Unavailable("the signing key's creation could not be recorded in the audit log (" +
                                 rec.status().message() + "), so no key was made");
    }
  }
  return key;
}

std::string SigningKey::PublicKeyBase64() const { return Base64(public_.data(), public_.size()); }

std::string SigningKey::Fingerprint() const { return KeyFingerprint(public_); }

std::string SigningKey::Sign(std::string_view message) const {
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       secret_.data());
  return Base64(sig, sizeof sig);
}

Result<std::array<unsigned char, 32>> ParsePublicKey(std::string_view base64) {
  if (Status s = oversight::SodiumReady(); !s.ok()) return s;
  std::array<unsigned char, 32> key{};
  if (base64.size() != 44 || !FromBase64(base64, key.data(), key.size()))
    return Status::InvalidArgument("a public key is 44 characters of base64 (as `lineup key show` prints it)");
  return key;
}

std::string KeyFingerprint(const std::array<unsigned char, 32>& public_key) {
  return Sha256Hex(public_key.data(), public_key.size());
}

bool VerifySignature(const std::array<unsigned char, 32>& public_key, std::string_view message,
                     std::string_view signature_base64) {
  if (!oversight::SodiumReady().ok()) return false;
  unsigned char sig[crypto_sign_BYTES];
  if (signature_base64.size() != sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL) - 1 ||
      !FromBase64(signature_base64, sig, sizeof sig))
    return false;
  return crypto_sign_verify_detached(sig, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                                     public_key.data()) == 0;
}

}  // namespace lineup
