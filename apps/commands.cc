#include <array>

#include "apps/command.h"

namespace dsv4::apps {

std::span<const Command> commands() {
  static const std::array<Command, 12> kCommands = {{
      {"run", "one-shot generation from a prompt", run_run},
      {"chat", "interactive multi-turn chat", run_chat},
      {"serve", "OpenAI- and Anthropic-compatible HTTP server", run_serve},
      {"bench", "prefill/decode throughput at context frontiers (CSV)", run_bench},
      {"convert", "official checkpoint (safetensors) -> GGUF", run_convert},
      {"synth", "random-weight model of any shape, with a built-in vocabulary", run_synth},
      {"inspect", "metadata, tensors and memory needs of a GGUF file", run_inspect},
      {"tokenize", "text on stdin -> JSON array of token ids", run_tokenize},
      {"render", "JSON messages on stdin -> rendered prompt", run_render},
      {"parse", "completion text on stdin -> JSON message", run_parse},
      {"logits", "logits of a token sequence as .npy", run_logits},
      {"verify", "re-run a recorded result and report the first divergence", run_verify},
  }};
  return kCommands;
}

}  // namespace dsv4::apps
