// Read-only memory mapping of a whole file: nothing is copied, and the pages stay in the page
// cache, shared between processes. (The engine copies model weights out of it into huge pages
// unless asked not to: engine/model.h.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace dsv4 {

class MappedFile {
 public:
  MappedFile() = default;
  // Throws dsv4::Error naming `path` if it cannot be opened or mapped.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

  // Hints the kernel to read the range ahead (MADV_WILLNEED); errors are ignored.
  void advise_willneed(size_t offset, size_t length) const;

 private:
  void reset();

  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Reads `length` bytes at `offset` of the file at `path` into `out` (pread). Throws
// dsv4::Error naming the file if it cannot be read or ends early.
void read_file_range(const std::string& path, uint64_t offset, uint64_t length, uint8_t* out);

// Drops the pages of a read-only mapping that cover [data, data + length) from this
// process (MADV_DONTNEED); they are read again from the file if touched. Lets a streaming
// pass over a file larger than RAM keep its resident set bounded.
void release_mapped_pages(const void* data, size_t length);

}  // namespace dsv4
