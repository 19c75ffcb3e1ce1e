// The one thread that runs the model. Requests wait in a bounded FIFO queue and run one at a
// time on the single live session, so a conversation that grows turn by turn prefills only
// its new tokens (MODEL.md §6.4), and each finished request is logged on stderr with how many
// prompt tokens it prefilled and how many it found in the session.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "apps/live_session.h"
#include "apps/server/job.h"
#include "engine/model.h"
#include "engine/runtime.h"
#include "render/tokenizer.h"

namespace dsv4::server {

class InferenceWorker {
 public:
  // At most `max_waiting` jobs wait behind the running one.
  InferenceWorker(engine::Runtime& runtime, const engine::Model& model,
                  const render::Tokenizer& tokenizer, apps::LiveSession& live, size_t max_waiting);
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

  engine::Runtime& runtime_;
  const engine::Model& model_;
  const render::Tokenizer& tokenizer_;
  apps::LiveSession& live_;
  const size_t max_waiting_;
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
