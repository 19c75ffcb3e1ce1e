// DeepSeek's release `config.json` (Hugging Face layout) → ModelConfig.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "engine/model_config.h"

namespace dsv4::engine {

// Throws naming `label` (the file) and the field for a missing, mistyped or unsupported value.
ModelConfig config_from_hf_json(const nlohmann::json& json, const std::string& label);
ModelConfig load_hf_config(const std::string& checkpoint_dir);

}  // namespace dsv4::engine
