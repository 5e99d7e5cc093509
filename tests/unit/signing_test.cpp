// Request signing (net/signing) against published vectors: Binance's HMAC-SHA256 examples from
// its API documentation (../shared/data/messages/binance/hmac_sha256_vectors.json) and RFC 4231;
// Ed25519 signatures are checked with OpenSSL's verifier against the public half of a fresh key.
#include "cats/net/signing.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <simdjson.h>

#include <fstream>

#include "test_util.hpp"

namespace cats::net {
namespace {

TEST(Signing, BinanceDocumentedHmacVectors) {
  const auto file = test::shared_data_dir() / "messages/binance/hmac_sha256_vectors.json";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << "no shared data at " << file;
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.load(file.string());
  std::string_view secret;
  ASSERT_EQ(doc["secretKey"].get(secret), simdjson::SUCCESS);
  std::string error;
  auto s = signer::make(signer::kind::hmac_hex, std::string(secret), error);
  ASSERT_TRUE(s) << error;
  int checked = 0;
  for (simdjson::dom::element v : doc["vectors"].get_array()) {
    std::string_view payload, expected;
    ASSERT_EQ(v["payload"].get(payload), simdjson::SUCCESS);
    ASSERT_EQ(v["expected_signature"].get(expected), simdjson::SUCCESS);
    EXPECT_EQ(s->sign(payload), expected) << payload;
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

TEST(Signing, Rfc4231HmacAsHexAndBase64) {
  // RFC 4231 test case 2.
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hmac_sha256_base64("Jefe", "what do ya want for nothing?"),
            "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
  EXPECT_EQ(base64_encode("ab"), "YWI=");
  EXPECT_EQ(url_encode("a+b/c=d~"), "a%2Bb%2Fc%3Dd~");
}

TEST(Signing, Ed25519SignaturesVerifyWithThePublicKey) {
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
  ASSERT_EQ(EVP_PKEY_keygen_init(ctx), 1);
  ASSERT_EQ(EVP_PKEY_keygen(ctx, &key), 1);
  EVP_PKEY_CTX_free(ctx);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);

  std::string error;
  auto s = signer::make(signer::kind::ed25519, pem, error);
  ASSERT_TRUE(s) << error;
  const std::string payload = "apiKey=k&timestamp=1700000000000";
  const std::string sig64 = s->sign(payload);
  // Decode the base64 signature and verify it with the public key.
  unsigned char raw[96];
  const int n = EVP_DecodeBlock(raw, reinterpret_cast<const unsigned char*>(sig64.data()),
                                static_cast<int>(sig64.size()));
  ASSERT_GE(n, 64);
  EVP_MD_CTX* v = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestVerifyInit(v, nullptr, nullptr, nullptr, key), 1);
  EXPECT_EQ(EVP_DigestVerify(v, raw, 64, reinterpret_cast<const unsigned char*>(payload.data()),
                             payload.size()),
            1);
  const std::string other = "apiKey=k&timestamp=1700000000001";
  EXPECT_NE(EVP_DigestVerify(v, raw, 64, reinterpret_cast<const unsigned char*>(other.data()),
                             other.size()),
            1);
  EVP_MD_CTX_free(v);
  EVP_PKEY_free(key);
}

TEST(Signing, RefusesAnUnusableKeyWithoutQuotingIt) {
  std::string error;
  EXPECT_FALSE(signer::make(signer::kind::ed25519, "not-a-pem-secret-1234", error));
  EXPECT_EQ(error.find("not-a-pem"), std::string::npos);
  EXPECT_FALSE(signer::make(signer::kind::hmac_hex, "", error));
}

}  // namespace
}  // namespace cats::net
