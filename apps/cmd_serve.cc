// `dsv4 serve -m M.gguf`: an HTTP server speaking the OpenAI and Anthropic APIs. It listens
// first and loads the model second, answering 503 meanwhile, so that a supervisor sees it
// come up at once. One worker runs the model on one live session; SIGINT or SIGTERM stop it
// cleanly: the running generation is cancelled and waiting requests get 503. --kv-dir keeps
// prompt states on disk across requests and restarts (apps/server/inference_worker.h).
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "apps/command.h"
#include "apps/common_options.h"
#include "apps/kv_cache_store.h"
#include "apps/live_session.h"
#include "apps/server/http_server.h"
#include "apps/server/inference_worker.h"
#include "apps/tokenizer_gguf.h"
#include "base/error.h"
#include "engine/model.h"

namespace dsv4::apps {
namespace {

// Set when the server should stop: a signal, or the listener failing.
class StopRequest {
 public:
  void request() {
    {
      std::lock_guard lock(mutex_);
      requested_ = true;
    }
    changed_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return requested_; });
  }
  bool requested() {
    std::lock_guard lock(mutex_);
    return requested_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool requested_ = false;
};

// Waits for SIGINT or SIGTERM on its own thread (both are blocked everywhere else), so that
// shutting down is ordinary code rather than a signal handler.
class SignalWatcher {
 public:
  explicit SignalWatcher(StopRequest& stop) : thread_([this, &stop] { watch(stop); }) {}
  ~SignalWatcher() {
    done_ = true;
    thread_.join();
  }

  static void block_signals() {
    sigset_t set = stop_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    // A client that disconnects must not kill the server with SIGPIPE.
    signal(SIGPIPE, SIG_IGN);
  }

 private:
  static sigset_t stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
  }

  void watch(StopRequest& stop) {
    const sigset_t set = stop_signals();
    const timespec poll{0, 200'000'000};
    while (!done_) {
      const int sig = sigtimedwait(&set, nullptr, &poll);
      if (sig > 0) {
        std::fprintf(stderr, "dsv4 serve: %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
        stop.request();
        return;
      }
    }
  }

  std::atomic<bool> done_{false};
  std::thread thread_;
};

// Every connection is a file descriptor. The soft limit (often 1,024) is raised to the hard
// one, and the connection limit kept below it with room for the model, logs and pipes.
size_t connection_capacity(size_t wanted) {
  constexpr rlim_t kReserved = 64;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return wanted;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) getrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur <= kReserved * 2) return kReserved;
  return static_cast<size_t>(std::min<rlim_t>(wanted, limit.rlim_cur - kReserved));
}

size_t longest_token_bytes(const render::Tokenizer& tokenizer) {
  size_t longest = 1;
  for (int32_t id = 0; id < tokenizer.vocab_size(); ++id)
    longest = std::max(longest, tokenizer.token_bytes(id).size());
  return longest;
}

}  // namespace

int run_serve(int argc, char** argv) {
  CLI::App app{"Serve the model over HTTP: OpenAI- and Anthropic-compatible APIs", argv[0]};
  std::string model_path, host = "127.0.0.1", alias;
  int port = 8000;
  size_t max_body_mb = 32, queue = 64;
  double keepalive_seconds = 5, request_timeout = 30, idle_timeout = 30;
  server::HttpSettings http;
  ComputeOptions compute;
  app.add_option("-m,--model", model_path, "GGUF model")->required();
  app.add_option("--host", host, "address to listen on (default: this machine only)")
      ->capture_default_str();
  app.add_option("--port", port, "port to listen on (0: any free port, printed at start)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--api-key", http.api_key,
                 "require this key (Authorization: Bearer KEY or x-api-key: KEY)")
      ->envname("DSV4_API_KEY");
  app.add_flag("--cors", http.cors, "allow browsers on other origins to call the API");
  app.add_option("--max-body-mb", max_body_mb, "largest request body accepted, in MiB")
      ->check(CLI::Range(size_t{1}, size_t{4096}))
      ->capture_default_str();
  app.add_option("--queue", queue, "requests that may wait for the model; more get 429")
      ->check(CLI::Range(size_t{0}, size_t{4096}))
      ->capture_default_str();
  app.add_option("--max-connections", http.limits.max_connections,
                 "connections open at once; at the limit the longest idle one is closed")
      ->check(CLI::Range(size_t{16}, size_t{1} << 20))
      ->capture_default_str();
  app.add_option("--request-timeout", request_timeout,
                 "seconds a request's head and body may take to arrive (else 408)")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_option("--idle-timeout", idle_timeout,
                 "seconds a keep-alive connection may wait for its next request")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_option("--alias", alias, "model name /v1/models reports (default: the file's name)");
  app.add_option("--sse-keepalive", keepalive_seconds,
                 "seconds of silence after which a stream gets a keep-alive comment")
      ->check(CLI::Range(0.001, 3600.0))
      ->capture_default_str();
  std::string kv_dir;
  int64_t kv_budget_mb = 4096;
  auto* kv_option = app.add_option(
      "--kv-dir", kv_dir,
      "cache of prompt states: restore the longest cached prefix, store new long prompts");
  app.add_option("--kv-budget-mb", kv_budget_mb, "size limit of --kv-dir in MiB (default: 4096)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30))
      ->needs(kv_option);
  compute.add_to(app);
  if (int status = parse_command_line(app, argc, argv); status >= 0) return status;

  compute.pin_target();
  // Before listening, so that a directory that cannot be made stops the server at once.
  std::optional<KvCacheStore> cache;
  if (!kv_dir.empty()) cache.emplace(kv_dir, static_cast<uint64_t>(kv_budget_mb) << 20);
  http.max_body_bytes = max_body_mb << 20;
  // Every waiting request holds a connection; a few more serve /health and /v1/models meanwhile.
  http.threads = queue + 16;
  http.keepalive = std::chrono::milliseconds(static_cast<int64_t>(keepalive_seconds * 1000));
  http.limits.request_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(request_timeout * 1000));
  http.limits.idle_timeout = std::chrono::milliseconds(static_cast<int64_t>(idle_timeout * 1000));
  if (const size_t capacity = connection_capacity(http.limits.max_connections);
      capacity < http.limits.max_connections) {
    std::fprintf(stderr, "dsv4 serve: at most %zu connections (the open file limit)\n", capacity);
    http.limits.max_connections = capacity;
  }

  SignalWatcher::block_signals();
  StopRequest stop;
  server::HttpServer server(http);
  const int bound = server.bind(host, port);
  std::fprintf(stderr, "dsv4 serve: listening on http://%s:%d\n", host.c_str(), bound);
  SignalWatcher signals(stop);
  std::thread listener([&] {
    server.run();
    stop.request();
  });
  const auto shut_down_listener = [&] {
    server.stop();
    listener.join();
  };

  std::unique_ptr<engine::Model> model;
  std::unique_ptr<render::Tokenizer> tokenizer;
  std::unique_ptr<engine::Runtime> runtime;
  std::unique_ptr<LiveSession> live;
  try {
    model = engine::Model::load(model_path, compute.weight_memory());
    tokenizer = std::make_unique<render::Tokenizer>(read_tokenizer_metadata(model->file()));
    runtime = std::make_unique<engine::Runtime>(compute.threads);
    live = std::make_unique<LiveSession>(*runtime, *model, *tokenizer, compute.session_options());
  } catch (...) {
    shut_down_listener();
    throw;
  }
  live->announce_memory();
  server::InferenceWorker worker(*runtime, *model, *tokenizer, *live, queue,
                                 cache ? &*cache : nullptr);
  server::ServedModel served;
  served.id = alias.empty() ? std::filesystem::path(model_path).stem().string() : alias;
  served.created = static_cast<int64_t>(std::time(nullptr));
  served.context = compute.context;
  served.max_token_bytes = longest_token_bytes(*tokenizer);
  server.set_ready(served, worker);
  std::fprintf(stderr, "dsv4 serve: ready: model %s, context %lld, %d threads, queue %zu%s\n",
               served.id.c_str(), static_cast<long long>(compute.context), runtime->threads(),
               queue, http.api_key.empty() ? "" : ", API key required");
  if (cache)
    std::fprintf(stderr, "dsv4 serve: kv cache: %s, %.1f of %lld MiB used\n", kv_dir.c_str(),
                 static_cast<double>(cache->used_bytes()) / (1 << 20),
                 static_cast<long long>(kv_budget_mb));

  stop.wait();
  worker.stop();
  shut_down_listener();
  return 0;
}

}  // namespace dsv4::apps
