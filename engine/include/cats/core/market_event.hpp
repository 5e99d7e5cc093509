// The normalized market data that every source produces (venue parsers, replay files, recordings)
// and every stage of the market step consumes.
#pragma once

#include <cats/sdk.h>

#include <cstdint>
#include <vector>

namespace cats {

/// One price level of a book (fixed-point).
struct book_level {
  int64_t price = 0;
  int64_t quantity = 0;  ///< 0 in an update removes the level
  friend bool operator==(const book_level&, const book_level&) = default;
};

/// The level changes of one venue message (or a whole snapshot), with the sequence numbers and
/// checksum a book synchroniser needs to prove continuity.
struct book_update {
  uint32_t instrument_id = 0;
  int64_t exchange_ts_ns = 0;
  int64_t local_ts_ns = 0;
  bool snapshot = false;   ///< replaces the whole book
  uint64_t first_seq = 0;  ///< Binance `U`; 0 when the venue has none
  uint64_t last_seq = 0;   ///< Binance `u` (or the snapshot's lastUpdateId); OKX `seqId`
  int64_t prev_seq = -1;   ///< OKX `prevSeqId`; -1 when absent
  bool has_checksum = false;
  int32_t checksum = 0;          ///< OKX CRC32 of the top 25 levels after this update
  std::vector<book_level> bids;  ///< quantity 0 removes the level
  std::vector<book_level> asks;
};

}  // namespace cats
