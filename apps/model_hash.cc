#include "apps/model_hash.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/hash64.h"
#include "base/progress.h"

namespace dsv4::apps {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCacheTag = "dsv4-model-hash 1";

struct FileIdentity {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

FileIdentity identify(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) fail(path, ": cannot read: ", std::strerror(errno));
  return {static_cast<uint64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

std::string cache_line(const FileIdentity& id, const std::string& hash) {
  std::ostringstream line;
  line << kCacheTag << ' ' << id.size << ' ' << id.mtime_ns << ' ' << hash << '\n';
  return line.str();
}

// Candidate cache files, preferred first: beside the model, then the user's cache directory
// (named after the model's absolute path, so that two models never share an entry).
std::vector<std::string> cache_paths(const std::string& model_path) {
  std::vector<std::string> paths{model_path + ".xxh64"};
  std::string base;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0')
    base = xdg;
  else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    base = std::string(home) + "/.cache";
  if (!base.empty()) {
    std::error_code ec;
    const std::string absolute = fs::absolute(model_path, ec).string();
    char name[32];
    std::snprintf(name, sizeof name, "%016" PRIx64 ".xxh64",
                  hash64(absolute.data(), absolute.size()));
    paths.push_back(base + "/dsv4/" + name);
  }
  return paths;
}

std::string read_cached(const std::string& cache_path, const FileIdentity& id) {
  std::ifstream in(cache_path);
  std::string line;
  if (!in || !std::getline(in, line)) return {};
  std::istringstream fields(line);
  std::string tag, version, hash;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  if (!(fields >> tag >> version >> size >> mtime_ns >> hash)) return {};
  if (tag + " " + version != kCacheTag || size != id.size || mtime_ns != id.mtime_ns) return {};
  if (hash.size() != 22 || !hash.starts_with("xxh64:")) return {};
  return hash;
}

bool write_cache(const std::string& cache_path, const std::string& line) {
  try {
    std::error_code ec;
    fs::create_directories(fs::path(cache_path).parent_path(), ec);
    AtomicFileWriter out(cache_path);
    out.write(line.data(), line.size());
    out.commit();
    return true;
  } catch (const Error&) {
    return false;  // a read-only place: try the next one
  }
}

std::string hash_file(const std::string& path, uint64_t size) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, ": cannot read: ", std::strerror(errno));
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  ProgressBar bar("hashing the model (once)", size >> 20, "MB");
  Hash64 hash;
  std::vector<char> buffer(size_t{8} << 20);
  uint64_t done = 0;
  for (;;) {
    const ssize_t got = read(fd, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const int error = errno;
      close(fd);
      fail(path, ": read failed: ", std::strerror(error));
    }
    if (got == 0) break;
    hash.update(buffer.data(), static_cast<size_t>(got));
    done += static_cast<uint64_t>(got);
    bar.update(done >> 20);
  }
  close(fd);
  bar.finish();
  if (done != size) fail(path, ": the file changed while it was hashed");
  char text[32];
  std::snprintf(text, sizeof text, "xxh64:%016" PRIx64, hash.digest());
  return text;
}

}  // namespace

std::string model_content_hash(const std::string& model_path) {
  const FileIdentity id = identify(model_path);
  const std::vector<std::string> caches = cache_paths(model_path);
  for (const std::string& cache : caches)
    if (std::string hash = read_cached(cache, id); !hash.empty()) return hash;
  const std::string hash = hash_file(model_path, id.size);
  for (const std::string& cache : caches)
    if (write_cache(cache, cache_line(id, hash))) break;
  return hash;
}

}  // namespace dsv4::apps
