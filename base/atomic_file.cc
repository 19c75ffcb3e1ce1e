#include "base/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/error.h"

namespace dsv4 {

AtomicFileWriter::AtomicFileWriter(const std::string& path)
    : path_(path), temp_path_(str_cat(path, ".tmp.", ::getpid())) {
  file_ = std::fopen(temp_path_.c_str(), "wb");
  if (file_ == nullptr) fail(path, ": cannot create ", temp_path_, ": ", std::strerror(errno));
  std::setvbuf(file_, nullptr, _IOFBF, 1 << 20);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (file_ != nullptr) {
    std::fclose(file_);
    std::remove(temp_path_.c_str());
  }
}

void AtomicFileWriter::write(const void* data, size_t size) {
  if (size == 0) return;
  if (std::fwrite(data, 1, size, file_) != size)
    fail(path_, ": write failed after ", offset_, " bytes: ", std::strerror(errno));
  offset_ += size;
}

void AtomicFileWriter::pad_to(size_t alignment) {
  static const char zeros[256] = {};
  size_t pad = (alignment - offset_ % alignment) % alignment;
  while (pad > 0) {
    size_t n = pad < sizeof(zeros) ? pad : sizeof(zeros);
    write(zeros, n);
    pad -= n;
  }
}

void AtomicFileWriter::commit() {
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0)
    fail(path_, ": cannot flush: ", std::strerror(errno));
  if (std::fclose(file_) != 0) {
    file_ = nullptr;
    std::remove(temp_path_.c_str());
    fail(path_, ": cannot close: ", std::strerror(errno));
  }
  file_ = nullptr;
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    int err = errno;
    std::remove(temp_path_.c_str());
    fail(path_, ": cannot rename ", temp_path_, ": ", std::strerror(err));
  }
}

}  // namespace dsv4
