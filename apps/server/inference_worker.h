// The one thread that runs the model. Requests wait in a bounded FIFO queue and run one at a
// time on the single live session, so a conversation that grows turn by turn prefills only
// its new tokens (MODEL.md §6.4), and each finished request is logged on stderr with how many
// prompt tokens it prefilled and how many it found in the session.
//
// With a disk cache (`--kv-dir`, apps/kv_cache_store.h), a request first restores the longest
// cached prefix of its prompt when that is longer than what the live session holds. Then it
// stores the state of its prompt through the last <｜Assistant｜>, if it evaluates at least
// kMinStoredTokens tokens up to there: a next turn of the conversation shares that much (it
// renders this turn's reply after </think> where this prompt ends with <think>), and so does
// a retry. Prompts without that token (raw completions) are stored whole. Each cache hit,
// miss and store gets a log line of its own.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "apps/kv_cache_store.h"
#include "apps/live_session.h"
#include "apps/server/job.h"
#include "engine/model.h"
#include "engine/runtime.h"
#include "render/tokenizer.h"

namespace dsv4::server {

class InferenceWorker {
 public:
  // Fewer new tokens are not worth a file: a chat of short turns, which the live session
  // carries from one turn to the next anyway, would otherwise write one per turn.
  static constexpr int64_t kMinStoredTokens = 64;

  // At most `max_waiting` jobs wait behind the running one. `cache` may be null (no disk
  // cache); it must outlive the worker.
  InferenceWorker(engine::Runtime& runtime, const engine::Model& model,
                  const render::Tokenizer& tokenizer, apps::LiveSession& live, size_t max_waiting,
                  apps::KvCacheStore* cache);
  ~InferenceWorker();
  InferenceWorker(const InferenceWorker&) = delete;
  InferenceWorker& operator=(const InferenceWorker&) = delete;

  // Queues a job. Throws ApiError: kQueueFull when the queue is full, kUnavailable once
  // stopping.
  std::shared_ptr<Job> submit(JobSpec spec);

  // Refuses new jobs, fails the waiting ones, cancels the running one and joins the thread.
  void stop();

 private:
  void run();
  void execute(Job& job);
  // Restores the longest cached prefix of the prompt that is longer than what the session
  // holds; the restored tokens leave `pending`, the tokens still to evaluate.
  void restore_from_cache(const Job& job, std::vector<int32_t>& pending);
  // How many of `pending` to evaluate before storing the state, or 0 for no store.
  int64_t store_point(const std::vector<int32_t>& pending) const;
  void store_in_cache(const Job& job);

  engine::Runtime& runtime_;
  const engine::Model& model_;
  const render::Tokenizer& tokenizer_;
  apps::LiveSession& live_;
  const size_t max_waiting_;
  apps::KvCacheStore* const cache_;
  const std::optional<int32_t> assistant_id_;
  const std::chrono::steady_clock::time_point epoch_ = std::chrono::steady_clock::now();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::shared_ptr<Job> running_;
  bool stopping_ = false;
  uint64_t next_id_ = 1;
  std::thread thread_;
};

}  // namespace dsv4::server
