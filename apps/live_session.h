// A session that follows a growing conversation. Each turn the caller renders the whole
// conversation; if the text the session holds is a prefix of it, only the rest is tokenized
// and evaluated, otherwise the session starts over (MODEL.md §6.4). Comparing text rather
// than tokens keeps sampled tokens that are not the canonical tokenization of their text
// (common, and the rule for random models) from forcing a full re-read every turn; the new
// part always starts at a special token (EOS, <｜User｜>) or after text the session already
// holds, so tokenizing it alone is what tokenizing the whole would give from there.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model.h"
#include "engine/runtime.h"
#include "engine/session.h"
#include "render/tokenizer.h"

namespace dsv4::apps {

class LiveSession {
 public:
  // Plans the memory first: throws dsv4::Error when the context does not fit.
  LiveSession(engine::Runtime& runtime, const engine::Model& model,
              const render::Tokenizer& tokenizer, const engine::SessionOptions& options);
  ~LiveSession();

  struct Sync {
    std::vector<int32_t> tokens;  // what the session lacks of the prompt, to evaluate next
    bool restarted = false;       // the session held text the prompt does not start with
  };
  Sync sync(std::string_view prompt);

  // A new, empty session with other options (e.g. a context size); the old one is kept when
  // the new one does not fit.
  void reopen(const engine::SessionOptions& options);

  // Call after the session's state was replaced (a restored file or cache entry): the text it
  // holds is worked out again from its tokens.
  void state_replaced();

  // One line on stderr: the weights, KV state and scratch the session's context needs.
  void announce_memory() const;

  engine::Session& session() { return *session_; }
  const engine::SessionOptions& options() const { return session_->options(); }

 private:
  const std::string& text();  // the text of the session's tokens

  engine::Runtime& runtime_;
  const engine::Model& model_;
  const render::Tokenizer& tokenizer_;
  std::unique_ptr<engine::Session> session_;
  std::string text_;
  size_t text_tokens_ = 0;  // how many of the session's tokens text_ covers
};

}  // namespace dsv4::apps
