// A conversation saved with its session state (`dsv4 chat` /save and /load, `dsv4 run
// --save-session` and `--session`). The session file's metadata (engine/session_file.h)
// holds, in MessagePack, {"dsv4_conversation": 1, "messages": [...] or null, "thinking":
// "thinking" | "chat", "effort": "high" | "max"}; MessagePack rather than JSON text because
// a reply cut at a token limit may end inside a UTF-8 character, and the bytes must come back
// exactly. Rendering the messages plus a new user turn, reasoning kept, extends the text the
// state holds, so only the new turn is evaluated. "messages" is null for a state whose text
// is not a rendered conversation (a raw prompt): text can only be appended to it as is.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "apps/generation_flags.h"
#include "apps/live_session.h"

namespace dsv4::apps {

struct SavedConversation {
  std::optional<nlohmann::ordered_json> messages;  // none: the state holds a raw prompt
  ThinkingChoice thinking;
};

// The reply as the history keeps it: exactly the generated text, so that rendering it again
// reproduces what the session holds. Thinking: reasoning up to the first </think>, then the
// answer (tool-call markup, if any, stays in the answer as the model wrote it).
nlohmann::ordered_json assistant_message(const std::string& text, render::ThinkingMode mode);

// Writes the live session's state with the conversation, atomically.
void save_conversation(const std::string& path, LiveSession& live,
                       const SavedConversation& conversation);

// Replaces the live session's state with the file's and returns its conversation. A file
// that is refused, holds no conversation metadata, or (with `require_messages`) holds a raw
// prompt changes nothing (dsv4::Error).
SavedConversation load_conversation(const std::string& path, LiveSession& live,
                                    bool require_messages);

}  // namespace dsv4::apps
