// One request's passage through the inference worker. The HTTP thread that received the
// request submits it and waits; the worker admits it (the prompt fits), streams its events
// and hands over the result. Everything crossing between the two threads goes through here.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "apps/generation.h"
#include "apps/server/api_error.h"
#include "engine/sampler.h"
#include "render/dsml_stream.h"

namespace dsv4::server {

struct JobSpec {
  std::string endpoint;  // for the log: "/v1/chat/completions"
  std::string prompt;    // rendered; the session is synced to it
  engine::SamplerOptions sampling;
  apps::GenerationOptions generation;
  bool stream_events = false;  // forward generation events (streaming responses)
};

// Known once the worker has synced the session to the prompt.
struct Admission {
  int64_t prompt_tokens = 0;  // the whole prompt
  int64_t cached_tokens = 0;  // of those, already in the live session: not prefilled again
};

struct JobOutcome {
  Admission admission;
  apps::GenerationResult result;
  std::string stop_sequence;  // the stop string that ended the text, if one did
};

class Job {
 public:
  Job(uint64_t id, JobSpec spec) : id_(id), spec_(std::move(spec)) {}

  uint64_t id() const { return id_; }
  const JobSpec& spec() const { return spec_; }

  // Worker side, in this order: admit (or fail), publish while generating, then finish or fail.
  void admit(const Admission& admission);
  void publish(const render::StreamEvent& event);
  void finish(JobOutcome outcome);
  void fail(const ApiError& error);

  // HTTP side. Waits for the worker to admit the job; throws the ApiError it failed with.
  Admission wait_admission();

  struct Update {
    std::vector<render::StreamEvent> events;  // in order, since the last update
    bool done = false;                        // outcome() or error() is set
  };
  // The events published since the last call, waiting up to `timeout` for something new.
  Update wait_update(std::chrono::milliseconds timeout);

  // Valid once an update said done.
  const std::optional<JobOutcome>& outcome() const { return outcome_; }
  const std::optional<ApiError>& error() const { return error_; }

  // Asks the worker to stop this job (the client went away): before it starts it is skipped,
  // during prefill or decoding generation ends at the next step.
  void cancel() { cancel_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancel_.load(std::memory_order_relaxed); }
  const std::atomic<bool>& cancel_flag() const { return cancel_; }

 private:
  const uint64_t id_;
  const JobSpec spec_;
  std::atomic<bool> cancel_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<Admission> admission_;
  std::vector<render::StreamEvent> events_;
  bool done_ = false;
  std::optional<JobOutcome> outcome_;
  std::optional<ApiError> error_;
};

}  // namespace dsv4::server
