// A disk cache of session states keyed by their tokens (`--kv-dir`, `--kv-budget-mb`): a
// request restores the state of the longest cached prefix of its tokens and evaluates only
// the rest. Restoring a prefix and evaluating the suffix gives exactly what evaluating every
// token would, so a hit changes nothing but the time.
//
// Files: "<key>-<T>.dsv4kv", a session file (engine/session_file.h) of T tokens, where key
// is 16 hex digits of XXH64 of the T token ids (little-endian i32) seeded with a hash of the
// model fingerprint, the precision and the window rows a context keeps, so that models and
// precisions can share a directory without ever matching each other's files. A candidate is
// used only after the session file passed every check and its tokens equal the request's.
//
// Eviction, least recently used: storing or restoring a file sets its modification time to
// now; before a store the oldest files go until the new state fits, so the directory's cache
// files stay within the budget. A state larger than the whole budget is not stored. Files
// that fail their checks are removed when found, and temporary files older than an hour
// (left by a writer that died) at the next store.
//
// Concurrency: files appear by an atomic rename and never change in place, so a reader sees
// a whole file or none; if eviction removes a file between listing and opening, the reader
// moves on to the next candidate. Any number of processes may read a directory while one
// stores into it; a store object keeps no state of its own, so threads may share one.
//
// Which states to store is the caller's choice: `dsv4 run --kv-dir` stores its rendered
// prompt; `dsv4 serve` stores where the next requests of a conversation branch off (the
// prompt through its last <｜Assistant｜>; apps/server/inference_worker.h), since only a
// prefix of a request can match.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/session.h"

namespace dsv4::apps {

struct KvCacheHit {
  int64_t tokens = 0;  // tokens restored; 0 when nothing matched and the session is unchanged
  std::string file;
  std::vector<std::string> refused;  // candidates that failed their checks, with the reason
};

class KvCacheStore {
 public:
  // Creates the directory if needed.
  KvCacheStore(std::string dir, uint64_t budget_bytes);

  // Restores into `session` the longest cached prefix of `tokens` (all of them at most).
  // Prefixes of `longer_than` tokens or fewer are passed over: a session that already holds
  // that many of `tokens` would only lose state by restoring them.
  KvCacheHit restore_longest_prefix(engine::Session& session, std::span<const int32_t> tokens,
                                    int64_t longer_than = 0);

  // Stores the session's state under its tokens, then evicts down to the budget. Returns
  // false when nothing was written: an empty session, a state already cached (its time is
  // renewed) or one larger than the budget.
  bool store(const engine::Session& session);

  // The size of the file of the session's state: store() writes none larger than the budget.
  uint64_t file_bytes(const engine::Session& session) const;
  // Bytes of the cache files now in the directory.
  uint64_t used_bytes() const;
  const std::string& dir() const { return dir_; }
  uint64_t budget_bytes() const { return budget_bytes_; }

 private:
  std::string path_of(uint64_t key, int64_t tokens) const;
  // Removes the least recently used files until the cache files take at most `limit` bytes.
  void evict(uint64_t limit) const;

  std::string dir_;
  uint64_t budget_bytes_;
};

}  // namespace dsv4::apps
