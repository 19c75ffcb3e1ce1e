// Read-only memory mapping of a whole file. Model weights stay in the page cache and are
// shared between processes; nothing is copied.
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

// Drops the pages of a read-only mapping that cover [data, data + length) from this
// process (MADV_DONTNEED); they are read again from the file if touched. Lets a streaming
// pass over a file larger than RAM keep its resident set bounded.
void release_mapped_pages(const void* data, size_t length);

}  // namespace dsv4
