#include "apps/kv_cache_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include "base/error.h"
#include "base/hash64.h"
#include "base/mapped_file.h"
#include "engine/session_file.h"

namespace dsv4::apps {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSuffix = ".dsv4kv";
constexpr std::string_view kTempMark = ".dsv4kv.tmp.";
constexpr auto kStaleTemp = std::chrono::hours(1);

struct CacheName {
  uint64_t key = 0;
  int64_t tokens = 0;
};

// Parses "<16 hex digits>-<tokens>.dsv4kv".
std::optional<CacheName> parse_name(std::string_view name) {
  if (!name.ends_with(kSuffix)) return std::nullopt;
  name.remove_suffix(kSuffix.size());
  if (name.size() < 18 || name[16] != '-') return std::nullopt;
  CacheName out;
  const char* end = name.data() + name.size();
  const auto key = std::from_chars(name.data(), name.data() + 16, out.key, 16);
  const auto tokens = std::from_chars(name.data() + 17, end, out.tokens);
  if (key.ptr != name.data() + 16 || tokens.ptr != end || out.tokens <= 0) return std::nullopt;
  return out;
}

// Seeds the keys with what a state must share with the session that restores it.
Hash64 key_hash(const engine::Session& session) {
  const uint64_t fingerprint = engine::model_fingerprint(session.model()).hash();
  const uint32_t precision = session.options().precision == engine::Precision::kRef ? 0 : 1;
  const int64_t window_rows =
      std::min<int64_t>(session.model().config().window, session.options().context);
  Hash64 seed;
  seed.update(&fingerprint, sizeof fingerprint);
  seed.update(&precision, sizeof precision);
  seed.update(&window_rows, sizeof window_rows);
  return Hash64(seed.digest());
}

void touch(const std::string& path) {
  std::error_code ignored;  // a file evicted meanwhile needs no time
  fs::last_write_time(path, fs::file_time_type::clock::now(), ignored);
}

struct CacheFile {
  fs::file_time_type time;
  uint64_t bytes = 0;
  std::string path;
};

// The cache files of `dir`; with `remove_stale`, removes stale temporary files on the way.
std::vector<CacheFile> list_cache_files(const std::string& dir, bool remove_stale) {
  std::vector<CacheFile> files;
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    std::error_code time_error, size_error;
    const fs::file_time_type time = entry.last_write_time(time_error);
    const uint64_t bytes = entry.file_size(size_error);
    if (time_error || size_error) continue;  // removed since the listing
    if (parse_name(name)) {
      files.push_back({time, bytes, entry.path().string()});
    } else if (remove_stale && name.find(kTempMark) != std::string::npos &&
               now - time > kStaleTemp) {
      fs::remove(entry.path(), ec);
    }
  }
  return files;
}

}  // namespace

KvCacheStore::KvCacheStore(std::string dir, uint64_t budget_bytes)
    : dir_(std::move(dir)), budget_bytes_(budget_bytes) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (!fs::is_directory(dir_)) fail(dir_, ": cannot create the KV cache directory");
}

std::string KvCacheStore::path_of(uint64_t key, int64_t tokens) const {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(key));
  return str_cat(dir_, "/", hex, "-", tokens, kSuffix);
}

KvCacheHit KvCacheStore::restore_longest_prefix(engine::Session& session,
                                                std::span<const int32_t> tokens,
                                                int64_t longer_than) {
  const int64_t most =
      std::min<int64_t>(static_cast<int64_t>(tokens.size()), session.options().context);
  std::set<std::pair<int64_t, uint64_t>> listed;  // (tokens, key), shortest first
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir_, ec))
    if (const auto name = parse_name(entry.path().filename().string());
        name && name->tokens > longer_than && name->tokens <= most)
      listed.insert({name->tokens, name->key});

  // The request's own keys at the listed lengths, one pass over its tokens.
  std::vector<std::pair<int64_t, uint64_t>> matches;
  Hash64 hash = key_hash(session);
  int64_t hashed = 0;
  for (const auto& [n, key] : listed) {
    hash.update(tokens.data() + hashed, static_cast<size_t>(n - hashed) * sizeof(int32_t));
    hashed = n;
    if (hash.digest() == key) matches.push_back({n, key});
  }

  KvCacheHit hit;
  for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
    const auto [n, key] = *it;
    const std::string path = path_of(key, n);
    const auto same_tokens = [&](std::string_view, const engine::SessionSnapshot& state) {
      if (!std::equal(state.tokens.begin(), state.tokens.end(), tokens.begin(), tokens.begin() + n))
        fail(path, ": holds other tokens than the request's first ", n);
    };
    struct stat listed_file {};
    if (::stat(path.c_str(), &listed_file) != 0) continue;  // evicted since the listing
    try {
      const MappedFile file(path);
      engine::load_session_image(file.bytes(), path, session, same_tokens);
    } catch (const Error& e) {
      // Only the file that failed is removed: not one stored under its name meanwhile.
      struct stat now {};
      if (::stat(path.c_str(), &now) != 0 || now.st_ino != listed_file.st_ino) continue;
      hit.refused.push_back(e.what());
      fs::remove(path, ec);
      continue;
    }
    touch(path);
    hit.tokens = n;
    hit.file = path;
    return hit;
  }
  return hit;
}

bool KvCacheStore::store(const engine::Session& session) {
  const int64_t n = session.position();
  if (n == 0) return false;
  Hash64 hash = key_hash(session);
  hash.update(session.tokens().data(), static_cast<size_t>(n) * sizeof(int32_t));
  const std::string path = path_of(hash.digest(), n);
  if (fs::exists(path)) {
    touch(path);
    return false;
  }
  const uint64_t bytes = file_bytes(session);
  if (bytes > budget_bytes_) return false;
  // Room first, so that the directory stays within the budget once the file is in.
  evict(budget_bytes_ - bytes);
  engine::save_session_file(path, session);
  touch(path);  // times from one clock, finer than the file system's
  return true;
}

uint64_t KvCacheStore::file_bytes(const engine::Session& session) const {
  const engine::SessionOptions& options = session.options();
  return engine::session_file_bytes(session.model().config(), options.context, options.precision,
                                    session.position());
}

void KvCacheStore::evict(uint64_t limit) const {
  std::vector<CacheFile> files = list_cache_files(dir_, /*remove_stale=*/true);
  uint64_t total = 0;
  for (const CacheFile& f : files) total += f.bytes;
  std::sort(files.begin(), files.end(), [](const CacheFile& a, const CacheFile& b) {
    return std::tie(a.time, a.path) < std::tie(b.time, b.path);
  });
  std::error_code ignored;  // another process may have removed it first
  for (const CacheFile& f : files) {
    if (total <= limit) break;
    fs::remove(f.path, ignored);
    total -= f.bytes;
  }
}

uint64_t KvCacheStore::used_bytes() const {
  uint64_t total = 0;
  for (const CacheFile& f : list_cache_files(dir_, /*remove_stale=*/false)) total += f.bytes;
  return total;
}

}  // namespace dsv4::apps
