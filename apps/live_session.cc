#include "apps/live_session.h"

#include <cstdio>

#include "apps/generation.h"
#include "engine/memory_plan.h"

namespace dsv4::apps {
namespace {

std::unique_ptr<engine::Session> open_session(engine::Runtime& runtime, const engine::Model& model,
                                              const engine::SessionOptions& options) {
  const engine::MemoryPlan plan =
      engine::plan_memory(model.config(), model.weights().bytes, options);
  engine::require_memory_fits(plan, options.context);
  return runtime.run([&] { return std::make_unique<engine::Session>(model, options); });
}

}  // namespace

LiveSession::LiveSession(engine::Runtime& runtime, const engine::Model& model,
                         const render::Tokenizer& tokenizer, const engine::SessionOptions& options)
    : runtime_(runtime),
      model_(model),
      tokenizer_(tokenizer),
      session_(open_session(runtime, model, options)) {}

LiveSession::~LiveSession() {
  runtime_.run([&] { session_.reset(); });
}

void LiveSession::reopen(const engine::SessionOptions& options) {
  auto replacement = open_session(runtime_, model_, options);
  runtime_.run([&] { session_ = std::move(replacement); });
  text_.clear();
  text_tokens_ = 0;
}

void LiveSession::announce_memory() const {
  const engine::SessionOptions& o = options();
  const engine::MemoryPlan plan = engine::plan_memory(model_.config(), model_.weights().bytes, o);
  std::fprintf(stderr, "dsv4: memory for a %lld-token context: %s; %s\n",
               static_cast<long long>(o.context), plan.describe().c_str(),
               model_.weight_memory_note().c_str());
}

void LiveSession::state_replaced() {
  text_.clear();
  text_tokens_ = 0;
}

const std::string& LiveSession::text() {
  const std::vector<int32_t>& tokens = session_->tokens();
  if (tokens.size() < text_tokens_) {  // the session was reset
    text_.clear();
    text_tokens_ = 0;
  }
  for (; text_tokens_ < tokens.size(); ++text_tokens_)
    if (stands_for_text(tokenizer_, tokens[text_tokens_]))
      text_ += tokenizer_.token_bytes(tokens[text_tokens_]);
  return text_;
}

LiveSession::Sync LiveSession::sync(std::string_view prompt) {
  Sync out;
  if (prompt.starts_with(text())) {
    out.tokens = tokenizer_.encode(prompt.substr(text_.size()), /*special=*/true);
    return out;
  }
  runtime_.run([&] { session_->reset(); });
  text_.clear();
  text_tokens_ = 0;
  out.restarted = true;
  out.tokens = tokenizer_.encode(prompt, /*special=*/true);
  return out;
}

}  // namespace dsv4::apps
