// API keys for a venue's private side: from the environment, or from a key file that only its
// owner can read. The secret is never logged, never put in a summary and never in an exception
// message; callers wipe it (net::wipe) once the signer holds it.
#pragma once

#include <string>

#include "cats/config/config.hpp"

namespace cats {

struct credentials {
  std::string api_key;
  std::string secret;      ///< HMAC secret, or an Ed25519 private key in PEM
  std::string passphrase;  ///< OKX only
  std::string source;      ///< "environment (BINANCE_API_KEY, BINANCE_API_SECRET)" or the file
};

/// The key file when `venue.key_file` is set (line 1: the API key; the rest: the secret; for OKX
/// line 2 is the secret and line 3 the passphrase), else the environment variables it names. Throws
/// std::invalid_argument saying what is missing or why the file is refused (group/world-readable,
/// not owned by this user, not a regular file).
credentials load_credentials(const venue_section& venue);

}  // namespace cats
