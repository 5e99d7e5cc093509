#include "cats/net/signing.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace cats::net {

namespace {

std::array<unsigned char, 32> hmac_sha256(std::string_view key, std::string_view message) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), out.data(),
           &len) == nullptr ||
      len != out.size())
    throw std::runtime_error("HMAC-SHA256 failed (OpenSSL)");
  return out;
}

}  // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  static constexpr char digits[] = "0123456789abcdef";
  const auto mac = hmac_sha256(key, message);
  std::string out(64, '0');
  for (size_t i = 0; i < mac.size(); ++i) {
    out[2 * i] = digits[mac[i] >> 4];
    out[2 * i + 1] = digits[mac[i] & 15];
  }
  return out;
}

std::string hmac_sha256_base64(std::string_view key, std::string_view message) {
  const auto mac = hmac_sha256(key, message);
  return base64_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string url_encode(std::string_view text) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

void wipe(std::string& s) noexcept {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

std::unique_ptr<signer> signer::make(kind k, std::string secret, std::string& error) {
  std::unique_ptr<signer> s(new signer);
  s->kind_ = k;
  if (secret.empty()) {
    error = "the API secret is empty";
    return nullptr;
  }
  if (k == kind::ed25519) {
    BIO* bio = BIO_new_mem_buf(secret.data(), static_cast<int>(secret.size()));
    EVP_PKEY* key =
        bio != nullptr ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
    BIO_free(bio);
    wipe(secret);
    if (key == nullptr || EVP_PKEY_id(key) != EVP_PKEY_ED25519) {
      EVP_PKEY_free(key);
      error = "the key is not an Ed25519 private key in PEM (PKCS#8) form";
      return nullptr;
    }
    s->pkey_ = key;
    return s;
  }
  // RFC 2104: a key longer than the block is hashed first; then (key ^ ipad) and (key ^ opad)
  // each start a SHA-256 context that every signature copies.
  std::array<unsigned char, 64> block{};
  if (secret.size() > block.size()) {
    unsigned int n = 0;
    EVP_Digest(secret.data(), secret.size(), block.data(), &n, EVP_sha256(), nullptr);
  } else {
    std::copy(secret.begin(), secret.end(), block.begin());
  }
  wipe(secret);
  std::array<unsigned char, 64> pad{};
  const EVP_MD* md = EVP_sha256();
  for (int which = 0; which < 2; ++which) {
    for (size_t i = 0; i < block.size(); ++i)
      pad[i] = static_cast<unsigned char>(block[i] ^ (which == 0 ? 0x36 : 0x5c));
    EVP_MD_CTX* c = EVP_MD_CTX_new();
    if (c == nullptr || EVP_DigestInit_ex(c, md, nullptr) != 1 ||
        EVP_DigestUpdate(c, pad.data(), pad.size()) != 1) {
      EVP_MD_CTX_free(c);
      OPENSSL_cleanse(block.data(), block.size());
      OPENSSL_cleanse(pad.data(), pad.size());
      error = "SHA-256 is not available (OpenSSL)";
      return nullptr;
    }
    (which == 0 ? s->inner_ : s->outer_) = c;
  }
  OPENSSL_cleanse(block.data(), block.size());
  OPENSSL_cleanse(pad.data(), pad.size());
  return s;
}

signer::~signer() {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(inner_));
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(outer_));
  EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey_));
}

std::array<unsigned char, 32> signer::hmac(std::string_view message) const {
  // One scratch context per thread: sign() runs on the engine and the network threads.
  struct scratch {
    EVP_MD_CTX* c = EVP_MD_CTX_new();
    ~scratch() { EVP_MD_CTX_free(c); }
  };
  thread_local scratch t;
  std::array<unsigned char, 32> inner{}, out{};
  unsigned int n = 0;
  const bool ok = t.c != nullptr &&
                  EVP_MD_CTX_copy_ex(t.c, static_cast<const EVP_MD_CTX*>(inner_)) == 1 &&
                  EVP_DigestUpdate(t.c, message.data(), message.size()) == 1 &&
                  EVP_DigestFinal_ex(t.c, inner.data(), &n) == 1 &&
                  EVP_MD_CTX_copy_ex(t.c, static_cast<const EVP_MD_CTX*>(outer_)) == 1 &&
                  EVP_DigestUpdate(t.c, inner.data(), inner.size()) == 1 &&
                  EVP_DigestFinal_ex(t.c, out.data(), &n) == 1;
  if (!ok) throw std::runtime_error("HMAC-SHA256 failed (OpenSSL)");
  return out;
}

std::string signer::sign(std::string_view payload) const {
  if (kind_ == kind::hmac_hex) {
    static constexpr char digits[] = "0123456789abcdef";
    const auto mac = hmac(payload);
    std::string out(64, '0');
    for (size_t i = 0; i < mac.size(); ++i) {
      out[2 * i] = digits[mac[i] >> 4];
      out[2 * i + 1] = digits[mac[i] & 15];
    }
    return out;
  }
  if (kind_ == kind::hmac_base64) {
    const auto mac = hmac(payload);
    return base64_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string sig(64, '\0');
  size_t len = sig.size();
  const bool ok =
      ctx != nullptr &&
      EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, static_cast<EVP_PKEY*>(pkey_)) == 1 &&
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(payload.data()), payload.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) throw std::runtime_error("Ed25519 signing failed (OpenSSL)");
  sig.resize(len);
  return base64_encode(sig);
}

}  // namespace cats::net
