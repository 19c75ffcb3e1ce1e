// Writes a file so that readers see either the old file or the complete new one:
// data goes to "<path>.tmp.<pid>", is fsynced, then renamed over `path` by commit().
// Destroying the writer without commit() removes the temporary file.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>

namespace dsv4 {

class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(const std::string& path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t size);
  // Pads with zero bytes up to the next multiple of `alignment`.
  void pad_to(size_t alignment);
  size_t offset() const { return offset_; }
  void commit();

 private:
  std::string path_;
  std::string temp_path_;
  std::FILE* file_ = nullptr;
  size_t offset_ = 0;
};

}  // namespace dsv4
