#include "apps/server/response_common.h"

#include <chrono>
#include <mutex>
#include <random>

namespace dsv4::server {

std::string new_id(std::string_view prefix) {
  static constexpr std::string_view kAlphabet =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  static std::mutex mutex;
  static std::mt19937_64 generator{std::random_device{}()};
  std::string id(prefix);
  std::lock_guard lock(mutex);
  for (int i = 0; i < 24; ++i) id += kAlphabet[generator() % kAlphabet.size()];
  return id;
}

int64_t unix_time() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string json_text(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace dsv4::server
