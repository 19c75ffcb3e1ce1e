#include "apps/server/request_head.h"

namespace dsv4::server {

HeadScan scan_request_head(std::string_view received, size_t max_head_bytes,
                           size_t max_header_count) {
  HeadScan scan;
  size_t lines = 0;
  size_t start = 0;
  while (start < received.size()) {
    const size_t end = received.find('\n', start);
    if (end == std::string_view::npos) break;
    const size_t length = end - start;
    if (length == 0 || (length == 1 && received[start] == '\r')) {
      // Blank lines before the request line are tolerated (RFC 9112 §2.2).
      if (lines > 0) {
        scan.status =
            end + 1 > max_head_bytes ? HeadScan::Status::kTooLarge : HeadScan::Status::kComplete;
        scan.bytes = end + 1;
        return scan;
      }
    } else if (++lines > max_header_count + 1) {
      scan.status = HeadScan::Status::kTooManyHeaders;
      return scan;
    }
    start = end + 1;
  }
  if (received.size() > max_head_bytes) scan.status = HeadScan::Status::kTooLarge;
  return scan;
}

std::string request_path(std::string_view received) {
  const size_t line_start = received.find_first_not_of("\r\n");
  if (line_start == std::string_view::npos) return "";
  const size_t line_end = received.find('\n', line_start);
  if (line_end == std::string_view::npos) return "";
  const std::string_view line = received.substr(line_start, line_end - line_start);
  const size_t path_start = line.find(' ');
  if (path_start == std::string_view::npos) return "";
  const size_t path_end = line.find_first_of(" ?\r", path_start + 1);
  return std::string(line.substr(path_start + 1, path_end == std::string_view::npos
                                                     ? std::string_view::npos
                                                     : path_end - path_start - 1));
}

}  // namespace dsv4::server
