#include "apps/server/inference_worker.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>

#include "base/error.h"
#include "render/prompt_format.h"

namespace dsv4::server {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The stop string that ended the text: the generated tokens spell on past the text, starting
// with it. Empty when EOS or a limit ended generation.
std::string matched_stop(const render::Tokenizer& tokenizer, const apps::GenerationResult& result,
                         const std::vector<std::string>& stops) {
  if (result.finish != apps::FinishReason::kStop || stops.empty()) return "";
  std::string spelled;
  for (int32_t token : result.tokens)
    if (apps::stands_for_text(tokenizer, token)) spelled += tokenizer.token_bytes(token);
  if (spelled.size() <= result.text.size()) return "";
  const std::string_view rest = std::string_view(spelled).substr(result.text.size());
  for (const std::string& stop : stops)
    if (rest.starts_with(stop)) return stop;
  return "";
}

// `ran` is the span of the worker's clock the job ran in: spans of different jobs never
// overlap, which the log shows.
void log_line(const Job& job, const JobOutcome& o, double started, double ended) {
  const apps::GenerationStats& s = o.result.stats;
  std::fprintf(
      stderr,
      "dsv4 serve: #%llu %s: %lld prompt tokens (%lld prefilled, %lld cached), %lld "
      "generated, finish %s, prefill %.1f tok/s, decode %.1f tok/s, ran %.3f-%.3f s\n",
      static_cast<unsigned long long>(job.id()), job.spec().endpoint.c_str(),
      static_cast<long long>(o.admission.prompt_tokens), static_cast<long long>(s.prefilled_tokens),
      static_cast<long long>(o.admission.cached_tokens), static_cast<long long>(s.generated_tokens),
      apps::finish_reason_name(o.result.finish), s.prefill_tps(), s.decode_tps(), started, ended);
}

}  // namespace

InferenceWorker::InferenceWorker(engine::Runtime& runtime, const engine::Model& model,
                                 const render::Tokenizer& tokenizer, apps::LiveSession& live,
                                 size_t max_waiting, apps::KvCacheStore* cache)
    : runtime_(runtime),
      model_(model),
      tokenizer_(tokenizer),
      live_(live),
      max_waiting_(max_waiting),
      cache_(cache),
      assistant_id_(tokenizer.find_token(render::kAssistantText)),
      thread_([this] { run(); }) {}

InferenceWorker::~InferenceWorker() {
  stop();
}

std::shared_ptr<Job> InferenceWorker::submit(JobSpec spec) {
  std::lock_guard lock(mutex_);
  if (stopping_) throw ApiError(ErrorKind::kUnavailable, "the server is shutting down");
  if (queue_.size() + (running_ ? 1 : 0) > max_waiting_)
    throw ApiError(ErrorKind::kQueueFull, "too many requests are waiting (" +
                                              std::to_string(queue_.size()) + "); try again later");
  auto job = std::make_shared<Job>(next_id_++, std::move(spec));
  queue_.push_back(job);
  wake_.notify_one();
  return job;
}

void InferenceWorker::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    for (const auto& job : queue_)
      job->fail(ApiError(ErrorKind::kUnavailable, "the server is shutting down"));
    queue_.clear();
    if (running_) running_->cancel();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void InferenceWorker::run() {
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      running_ = std::move(queue_.front());
      queue_.pop_front();
    }
    execute(*running_);
    std::lock_guard lock(mutex_);
    running_.reset();
  }
}

void InferenceWorker::execute(Job& job) {
  if (job.cancelled()) {
    job.fail(ApiError(ErrorKind::kInternal, "the request was cancelled"));
    std::fprintf(stderr, "dsv4 serve: #%llu %s: cancelled while waiting\n",
                 static_cast<unsigned long long>(job.id()), job.spec().endpoint.c_str());
    return;
  }
  const double started = seconds_since(epoch_);
  try {
    std::vector<int32_t> pending = live_.sync(job.spec().prompt).tokens;
    if (cache_ && !pending.empty()) restore_from_cache(job, pending);
    engine::Session& session = live_.session();
    const int64_t context = session.options().context;
    JobOutcome outcome;
    outcome.admission.cached_tokens = session.position();
    outcome.admission.prompt_tokens = session.position() + static_cast<int64_t>(pending.size());
    if (outcome.admission.prompt_tokens >= context)
      throw ApiError(ErrorKind::kInvalidRequest,
                     "the prompt has " + std::to_string(outcome.admission.prompt_tokens) +
                         " tokens but the context holds " + std::to_string(context) +
                         " (start the server with a larger --ctx)",
                     "messages");
    job.admit(outcome.admission);

    engine::Sampler sampler(model_.config().vocab, job.spec().sampling);
    apps::GenerationCallbacks callbacks;
    if (job.spec().stream_events)
      callbacks.stream = [&job](const render::StreamEvent& e) { job.publish(e); };
    if (cache_) {
      callbacks.checkpoint = store_point(pending);
      callbacks.at_checkpoint = [this, &job] { store_in_cache(job); };
    }
    outcome.result = apps::generate(runtime_, session, tokenizer_, sampler, pending,
                                    job.spec().generation, callbacks, &job.cancel_flag());
    outcome.stop_sequence = matched_stop(tokenizer_, outcome.result, job.spec().generation.stop);
    log_line(job, outcome, started, seconds_since(epoch_));
    job.finish(std::move(outcome));
  } catch (const ApiError& e) {
    std::fprintf(stderr, "dsv4 serve: #%llu %s: refused: %s\n",
                 static_cast<unsigned long long>(job.id()), job.spec().endpoint.c_str(), e.what());
    job.fail(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dsv4 serve: #%llu %s: error: %s\n",
                 static_cast<unsigned long long>(job.id()), job.spec().endpoint.c_str(), e.what());
    job.fail(ApiError(ErrorKind::kInternal, e.what()));
  }
}

void InferenceWorker::restore_from_cache(const Job& job, std::vector<int32_t>& pending) {
  engine::Session& session = live_.session();
  const int64_t held = session.position();
  std::vector<int32_t> prompt = session.tokens();
  prompt.insert(prompt.end(), pending.begin(), pending.end());
  const apps::KvCacheHit hit = cache_->restore_longest_prefix(session, prompt, held);
  const auto id = static_cast<unsigned long long>(job.id());
  for (const std::string& reason : hit.refused)
    std::fprintf(stderr, "dsv4 serve: #%llu kv cache: removed a bad file: %s\n", id,
                 reason.c_str());
  if (hit.tokens == 0) {
    std::fprintf(stderr,
                 "dsv4 serve: #%llu kv cache: nothing restored; %zu of the %zu prompt "
                 "tokens to evaluate\n",
                 id, pending.size(), prompt.size());
    return;
  }
  live_.state_replaced();
  pending.erase(pending.begin(), pending.begin() + (hit.tokens - held));
  std::fprintf(stderr,
               "dsv4 serve: #%llu kv cache: %lld of the %zu prompt tokens restored from %s; %zu "
               "to evaluate\n",
               id, static_cast<long long>(hit.tokens), prompt.size(), hit.file.c_str(),
               pending.size());
}

int64_t InferenceWorker::store_point(const std::vector<int32_t>& pending) const {
  auto end = pending.end();
  if (assistant_id_) {
    const auto last = std::find(pending.rbegin(), pending.rend(), *assistant_id_);
    if (last != pending.rend()) end = last.base();
  }
  const int64_t point = end - pending.begin();
  return point >= kMinStoredTokens ? point : 0;
}

void InferenceWorker::store_in_cache(const Job& job) {
  const auto id = static_cast<unsigned long long>(job.id());
  const engine::Session& session = live_.session();
  const auto tokens = static_cast<long long>(session.position());
  try {
    if (cache_->store(session)) {
      std::fprintf(stderr,
                   "dsv4 serve: #%llu kv cache: stored the prompt's first %lld tokens in %s\n", id,
                   tokens, cache_->dir().c_str());
    } else if (const uint64_t bytes = cache_->file_bytes(session); bytes > cache_->budget_bytes()) {
      // Otherwise a budget smaller than every state would leave the cache empty unseen.
      std::fprintf(stderr,
                   "dsv4 serve: #%llu kv cache: not stored: the state of %lld tokens takes "
                   "%.1f MiB, more than --kv-budget-mb\n",
                   id, tokens, static_cast<double>(bytes) / (1 << 20));
    }
  } catch (const std::exception& e) {
    // A full or read-only disk costs the cache, not the request.
    std::fprintf(stderr, "dsv4 serve: #%llu kv cache: not stored: %s\n", id, e.what());
  }
}

}  // namespace dsv4::server
