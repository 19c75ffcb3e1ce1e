#include "render/chat.h"

#include <algorithm>
#include <map>
#include <optional>
#include <vector>

#include "base/error.h"
#include "render/dsml.h"
#include "render/python_json.h"

namespace dsv4::render {

const std::string_view kMaxEffortPrefix =
    "Reasoning Effort: Absolute maximum with no shortcuts permitted.\n"
    "You MUST be very thorough in your thinking and comprehensively decompose the problem to "
    "resolve the "
    "root cause, rigorously stress-testing your logic against all potential paths, edge cases, and "
    "adversarial scenarios.\n"
    "Explicitly write out your entire deliberation process, documenting every intermediate step, "
    "considered "
    "alternative, and rejected hypothesis to ensure absolutely no assumption is left "
    "unchecked.\n\n";

namespace {

using nlohmann::ordered_json;

constexpr std::string_view kToolsHead =
    R"(## Tools

You have access to a set of tools to help answer the user's question. You can invoke tools by writing a "<｜DSML｜tool_calls>" block like the following:

<｜DSML｜tool_calls>
<｜DSML｜invoke name="$TOOL_NAME">
<｜DSML｜parameter name="$PARAMETER_NAME" string="true|false">$PARAMETER_VALUE</｜DSML｜parameter>
...
</｜DSML｜invoke>
<｜DSML｜invoke name="$TOOL_NAME2">
...
</｜DSML｜invoke>
</｜DSML｜tool_calls>

String parameters should be specified as is and set `string="true"`. For all other types (numbers, booleans, arrays, objects), pass the value in JSON format and set `string="false"`.

If thinking_mode is enabled (triggered by <think>), you MUST output your complete reasoning inside <think>...</think> BEFORE any tool calls or final response.

Otherwise, output directly after </think> with tool calls or final response.

### Available Tool Schemas

)";
constexpr std::string_view kToolsTail =
    "\n\nYou MUST strictly follow the above defined tool name and parameter schemas to invoke tool "
    "calls.\n";
constexpr std::string_view kResponseFormatHead =
    "## Response Format:\n\nYou MUST strictly adhere to the following schema to reply:\n";

const std::map<std::string, std::string_view, std::less<>> kTaskTokens = {
    {"action", "<｜action｜>"}, {"query", "<｜query｜>"}, {"authority", "<｜authority｜>"},
    {"domain", "<｜domain｜>"}, {"title", "<｜title｜>"}, {"read_url", "<｜read_url｜>"},
};

// A user turn is a list of blocks: its own text, and tool results merged into it.
struct Block {
  bool tool_result = false;
  std::string text;
  std::string tool_use_id;
};

struct Message {
  std::string role;
  std::string where;  // "messages[i]" of the input, for errors
  std::string content;
  std::vector<Block> blocks;
  const ordered_json* tools = nullptr;            // non-empty tool list, if any
  const ordered_json* response_format = nullptr;  // truthy response_format, if any
  std::vector<ToolCall> tool_calls;
  std::vector<std::string> tool_call_ids;
  std::string reasoning;
  std::optional<std::string> task;
  bool wo_eos = false;
};

// Python truthiness, which encoding_dsv4 uses to decide whether optional fields count.
bool truthy(const ordered_json& v) {
  if (v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0;
  if (v.is_string() || v.is_array() || v.is_object()) return !v.empty();
  return true;
}

const ordered_json* field(const ordered_json& msg, const char* key) {
  const auto it = msg.find(key);
  return it == msg.end() ? nullptr : &*it;
}

// The "type" of a content part, "" when absent or not a string.
std::string part_type(const ordered_json& part) {
  const ordered_json* type = part.is_object() ? field(part, "type") : nullptr;
  return type != nullptr && type->is_string() ? type->get<std::string>() : "";
}

// Content as text: a string, null, or a list of strings / {"type": "text", "text": ...} parts
// (concatenated, as clients that send content parts expect).
std::string text_of(const ordered_json* v, const std::string& where) {
  if (v == nullptr || v->is_null()) return "";
  if (v->is_string()) return v->get<std::string>();
  if (v->is_array()) {
    std::string out;
    for (size_t k = 0; k < v->size(); ++k) {
      const ordered_json& part = (*v)[k];
      if (part.is_string()) {
        out += part.get<std::string>();
      } else if (part_type(part) == "text" && part.contains("text") &&
                 part.at("text").is_string()) {
        out += part.at("text").get<std::string>();
      } else {
        fail(where, "[", k, "]: only text parts are supported");
      }
    }
    return out;
  }
  fail(where, ": expected a string, null or a list of text parts");
}

// A tool result's text: a list of parts is joined with blank lines, non-text parts noted.
std::string tool_result_text(const ordered_json* v, const std::string& where) {
  if (v == nullptr || !v->is_array()) return text_of(v, where);
  std::string out;
  for (size_t k = 0; k < v->size(); ++k) {
    const ordered_json& part = (*v)[k];
    if (k > 0) out += "\n\n";
    const std::string type = part_type(part);
    if (type == "text" && part.contains("text") && part.at("text").is_string()) {
      out += part.at("text").get<std::string>();
    } else {
      out += "[Unsupported " + (type.empty() ? std::string("None") : type) + "]";
    }
  }
  return out;
}

std::vector<ToolCall> tool_calls_of(const ordered_json& list, const std::string& where,
                                    std::vector<std::string>& ids) {
  if (!list.is_array()) fail(where, ": expected a list");
  std::vector<ToolCall> calls;
  for (size_t k = 0; k < list.size(); ++k) {
    const std::string at = str_cat(where, "[", k, "]");
    const ordered_json& tc = list[k];
    if (!tc.is_object()) fail(at, ": expected an object");
    const ordered_json& fn = tc.contains("function") ? tc.at("function") : tc;
    if (!fn.is_object() || !fn.contains("name") || !fn.at("name").is_string())
      fail(at, ".function.name: expected a string");
    const ordered_json* args = field(fn, "arguments");
    std::string arguments;
    if (args == nullptr || args->is_null()) {
      arguments = "{}";
    } else if (args->is_string()) {
      arguments = args->get<std::string>();
    } else {
      arguments = python_json_dumps(*args);  // clients sometimes send the object itself
    }
    calls.push_back({fn.at("name").get<std::string>(), std::move(arguments)});
    std::string id;
    if (tc.contains("id") && tc.at("id").is_string()) {
      id = tc.at("id").get<std::string>();
    } else if (fn.contains("id") && fn.at("id").is_string()) {
      id = fn.at("id").get<std::string>();
    }
    ids.push_back(std::move(id));
  }
  return calls;
}

// Reads the input and merges tool messages into user turns: a tool result joins the user
// turn right before it (or opens one), and a user message joins a preceding user turn made
// of tool results unless that turn carries a task.
std::vector<Message> merge_messages(const ordered_json& messages) {
  if (!messages.is_array()) fail("messages: expected a list");
  std::vector<Message> merged;
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string where = str_cat("messages[", i, "]");
    const ordered_json& msg = messages[i];
    if (!msg.is_object()) fail(where, ": expected an object");
    const ordered_json* role = field(msg, "role");
    if (role == nullptr || !role->is_string()) fail(where, ".role: expected a string");
    Message m;
    m.role = role->get<std::string>();
    m.where = where;
    if (const ordered_json* task = field(msg, "task"); task != nullptr && !task->is_null()) {
      if (!task->is_string() || !kTaskTokens.contains(task->get<std::string>()))
        fail(where, ".task: expected one of action, query, authority, domain, title, read_url");
      m.task = task->get<std::string>();
    }
    if (const ordered_json* wo_eos = field(msg, "wo_eos")) m.wo_eos = truthy(*wo_eos);

    if (m.role == "tool") {
      Block b{true, tool_result_text(field(msg, "content"), where + ".content"), ""};
      if (const ordered_json* id = field(msg, "tool_call_id"); id != nullptr && id->is_string())
        b.tool_use_id = id->get<std::string>();
      if (!merged.empty() && merged.back().role == "user") {
        merged.back().blocks.push_back(std::move(b));
      } else {
        Message user;
        user.role = "user";
        user.where = where;
        user.blocks.push_back(std::move(b));
        merged.push_back(std::move(user));
      }
      continue;
    }
    if (m.role == "user") {
      Block b{false, text_of(field(msg, "content"), where + ".content"), ""};
      if (!merged.empty() && merged.back().role == "user" && !merged.back().task) {
        merged.back().blocks.push_back(std::move(b));
      } else {
        m.blocks.push_back(std::move(b));
        merged.push_back(std::move(m));
      }
      continue;
    }
    m.content = text_of(field(msg, "content"), where + ".content");
    if (const ordered_json* tools = field(msg, "tools"); tools != nullptr && truthy(*tools)) {
      if (!tools->is_array()) fail(where, ".tools: expected a list");
      m.tools = tools;
    }
    if (const ordered_json* rf = field(msg, "response_format"); rf != nullptr && truthy(*rf))
      m.response_format = rf;
    if (const ordered_json* calls = field(msg, "tool_calls"); calls != nullptr && truthy(*calls))
      m.tool_calls = tool_calls_of(*calls, where + ".tool_calls", m.tool_call_ids);
    if (const ordered_json* rc = field(msg, "reasoning_content"); rc != nullptr && !rc->is_null()) {
      if (!rc->is_string()) fail(where, ".reasoning_content: expected a string");
      m.reasoning = rc->get<std::string>();
    }
    merged.push_back(std::move(m));
  }
  return merged;
}

// Puts the tool results of each user turn in the order of the calls of the latest assistant
// turn with calls (results whose id is unknown sort as if first; ties keep their order).
void sort_tool_results(std::vector<Message>& messages) {
  std::map<std::string, size_t> order;
  for (Message& m : messages) {
    if (m.role == "assistant" && !m.tool_calls.empty()) {
      order.clear();
      for (size_t k = 0; k < m.tool_call_ids.size(); ++k)
        if (!m.tool_call_ids[k].empty()) order[m.tool_call_ids[k]] = k;
      continue;
    }
    if (m.role != "user" || order.empty()) continue;
    std::vector<Block> results;
    for (const Block& b : m.blocks)
      if (b.tool_result) results.push_back(b);
    if (results.size() < 2) continue;
    const auto rank = [&](const Block& b) {
      const auto it = order.find(b.tool_use_id);
      return it == order.end() ? size_t{0} : it->second;
    };
    std::stable_sort(results.begin(), results.end(),
                     [&](const Block& a, const Block& b) { return rank(a) < rank(b); });
    size_t next = 0;
    for (Block& b : m.blocks)
      if (b.tool_result) b = results[next++];
  }
}

// Index of the last user or developer turn, or -1.
ptrdiff_t last_user_index(const std::vector<Message>& messages) {
  for (ptrdiff_t i = static_cast<ptrdiff_t>(messages.size()) - 1; i >= 0; --i)
    if (messages[i].role == "user" || messages[i].role == "developer") return i;
  return -1;
}

// Before the last user turn: assistant turns lose their reasoning, developer turns go.
std::vector<Message> drop_old_thinking(std::vector<Message> messages) {
  const ptrdiff_t last_user = last_user_index(messages);
  std::vector<Message> kept;
  for (ptrdiff_t i = 0; i < static_cast<ptrdiff_t>(messages.size()); ++i) {
    Message& m = messages[i];
    if (i >= last_user || m.role == "user" || m.role == "system" || m.role == "latest_reminder" ||
        m.role == "direct_search_results") {
      kept.push_back(std::move(m));
    } else if (m.role == "assistant") {
      m.reasoning.clear();
      kept.push_back(std::move(m));
    }
  }
  return kept;
}

std::string escape_tool_result(std::string_view text) {
  constexpr std::string_view kClose = "</tool_result>";
  std::string out;
  for (size_t pos = 0;;) {
    const size_t at = text.find(kClose, pos);
    if (at == std::string_view::npos) {
      out += text.substr(pos);
      return out;
    }
    out += text.substr(pos, at - pos);
    out += "&lt;";
    out += kClose.substr(1);
    pos = at + kClose.size();
  }
}

void append_extras(std::string& out, const Message& m) {
  if (m.tools != nullptr) out += "\n\n" + render_tools(*m.tools);
  if (m.response_format != nullptr) {
    out += "\n\n";
    out += kResponseFormatHead;
    out += python_json_dumps(*m.response_format);
  }
}

class Renderer {
 public:
  Renderer(const std::vector<Message>& messages, const ChatOptions& options, bool drop_thinking)
      : messages_(messages),
        options_(options),
        thinking_(options.mode == ThinkingMode::kThinking),
        drop_thinking_(drop_thinking),
        last_user_(last_user_index(messages)) {}

  void render(size_t i, std::string& out) const {
    const Message& m = messages_[i];
    if (i == 0 && thinking_ && options_.effort == ReasoningEffort::kMax) out += kMaxEffortPrefix;
    if (m.role == "system") {
      out += m.content;
      append_extras(out, m);
    } else if (m.role == "developer") {
      if (m.content.empty()) fail(m.where, ".content: a developer message needs content");
      out += kUserText;
      out += m.content;
      append_extras(out, m);
    } else if (m.role == "user") {
      out += kUserText;
      for (size_t k = 0; k < m.blocks.size(); ++k) {
        if (k > 0) out += "\n\n";
        const Block& b = m.blocks[k];
        out += b.tool_result ? "<tool_result>" + escape_tool_result(b.text) + "</tool_result>"
                             : b.text;
      }
    } else if (m.role == "latest_reminder") {
      out += kLatestReminderText;
      out += m.content;
    } else if (m.role == "assistant") {
      render_assistant(i, out);
    } else {
      fail(m.where, ".role: unknown role '", m.role, "'");
    }
    render_transition(i, out);
  }

 private:
  void render_assistant(size_t i, std::string& out) const {
    const Message& m = messages_[i];
    // The turn right after a task request is the task's answer: it has no reasoning.
    const bool answers_task = i > 0 && messages_[i - 1].task.has_value();
    if (thinking_ && !answers_task && (!drop_thinking_ || static_cast<ptrdiff_t>(i) > last_user_)) {
      out += m.reasoning;
      out += kThinkEnd;
    }
    out += m.content;
    out += render_tool_calls(m.tool_calls);
    if (!m.wo_eos) out += kEosText;
  }

  // What opens the next assistant turn: only when one follows (or the prompt ends here).
  void render_transition(size_t i, std::string& out) const {
    if (i + 1 < messages_.size()) {
      const std::string& next = messages_[i + 1].role;
      if (next != "assistant" && next != "latest_reminder") return;
    }
    const Message& m = messages_[i];
    if (m.task) {
      const std::string_view token = kTaskTokens.find(*m.task)->second;
      if (*m.task == "action") {
        out += kAssistantText;
        out += thinking_ ? kThinkStart : kThinkEnd;
      }
      out += token;
    } else if (m.role == "user" || m.role == "developer") {
      out += kAssistantText;
      const bool think = thinking_ && (!drop_thinking_ || static_cast<ptrdiff_t>(i) >= last_user_);
      out += think ? kThinkStart : kThinkEnd;
    }
  }

  const std::vector<Message>& messages_;
  const ChatOptions& options_;
  bool thinking_;
  bool drop_thinking_;
  ptrdiff_t last_user_;
};

}  // namespace

std::string render_tools(const ordered_json& tools) {
  std::string out(kToolsHead);
  bool first = true;
  for (const ordered_json& tool : tools) {
    if (!first) out += '\n';
    first = false;
    out += python_json_dumps(tool.is_object() && tool.contains("function") ? tool.at("function")
                                                                           : tool);
  }
  out += kToolsTail;
  return out;
}

std::string render_chat(const ordered_json& messages, const ChatOptions& options) {
  std::vector<Message> merged = merge_messages(messages);
  sort_tool_results(merged);
  const bool any_tools = std::any_of(merged.begin(), merged.end(),
                                     [](const Message& m) { return m.tools != nullptr; });
  const bool drop = options.drop_thinking && !any_tools;
  if (options.mode == ThinkingMode::kThinking && drop)
    merged = drop_old_thinking(std::move(merged));

  std::string out = options.add_bos ? std::string(kBosText) : std::string();
  const Renderer renderer(merged, options, drop);
  for (size_t i = 0; i < merged.size(); ++i) renderer.render(i, out);
  return out;
}

}  // namespace dsv4::render
