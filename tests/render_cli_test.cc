// `dsv4 tokenize`, `dsv4 render`, `dsv4 parse`: tiny-a's tokenizer written to a
// tokenizer-only GGUF and run through the binary, the official encoding cases through
// render and parse, and the tokenizer metadata round trip (ours and llama.cpp-style files).
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "apps/tokenizer_gguf.h"
#include "gguf/reader.h"
#include "gguf/writer.h"
#include "render/hf_tokenizer_json.h"
#include "render/synthetic_vocab.h"
#include "render/tokenizer.h"
#include "tests/support/process.h"
#include "tests/support/testdata.h"

using dsv4::testing::dsv4_binary;
using dsv4::testing::require_testdata;
using dsv4::testing::run_process;
using dsv4::testing::scratch_dir;
namespace render = dsv4::render;
namespace gguf = dsv4::gguf;

namespace {

std::string write_tokenizer_gguf(const render::TokenizerData& data, const std::string& name) {
  const std::string path = scratch_dir() + "/" + name;
  gguf::GgufWriter writer(path);
  writer.add_metadata("general.architecture", gguf::Value::of_string("deepseek4"));
  dsv4::apps::write_tokenizer_metadata(writer, data);
  writer.finish();
  return path;
}

// What llama.cpp's converter or ds4 write: no regex list, only the pre-tokenizer's name.
std::string write_llama_style_gguf(const render::TokenizerData& data, const std::string& name) {
  const std::string path = scratch_dir() + "/" + name;
  gguf::GgufWriter writer(path);
  writer.add_metadata("tokenizer.ggml.model", gguf::Value::of_string("gpt2"));
  writer.add_metadata("tokenizer.ggml.pre", gguf::Value::of_string("deepseek-v3"));
  writer.add_metadata("tokenizer.ggml.tokens", gguf::Value::of_string_array(data.tokens));
  std::vector<int32_t> types;
  for (render::TokenType t : data.token_types) types.push_back(static_cast<int32_t>(t));
  writer.add_metadata("tokenizer.ggml.token_type", gguf::Value::of_i32_array(types));
  writer.add_metadata("tokenizer.ggml.merges", gguf::Value::of_string_array(data.merges));
  writer.finish();
  return path;
}

std::vector<int32_t> run_tokenize(const std::string& model, const std::string& text, bool special) {
  std::vector<std::string> args = {dsv4_binary(), "tokenize", "-m", model};
  if (special) args.push_back("--special");
  const auto r = run_process(args, text);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  return nlohmann::json::parse(r.out).get<std::vector<int32_t>>();
}

}  // namespace

TEST_CASE("dsv4 tokenize: every tiny-a vector through a tokenizer-only GGUF") {
  const auto dir = require_testdata("tiny-a");
  if (!dir) return;
  const std::string model =
      write_tokenizer_gguf(render::load_hf_tokenizer_dir(*dir), "render-tiny-a-tokenizer.gguf");
  const auto vectors =
      nlohmann::json::parse(dsv4::testing::read_file(*dir + "/tokenizer_vectors.json"));
  size_t checked = 0;
  for (const char* kind : {"plain", "rendered"}) {
    for (const auto& v : vectors.at(kind)) {
      const std::string text = v.at("text").get<std::string>();
      CAPTURE(text);
      CHECK(run_tokenize(model, text, std::string(kind) == "rendered") ==
            v.at("ids").get<std::vector<int32_t>>());
      ++checked;
    }
  }
  MESSAGE(checked, " vectors checked through dsv4 tokenize");
  // Without --special, special-token text is ordinary text.
  CHECK(run_tokenize(model, "<｜User｜>", false).size() > 1);
  CHECK(run_tokenize(model, "<｜User｜>", true) == std::vector<int32_t>{3});
}

TEST_CASE("tokenizer metadata: our GGUF round-trips - llama.cpp-style files load by pre name") {
  const auto dir = require_testdata("tiny-a");
  if (!dir) return;
  const render::TokenizerData data = render::load_hf_tokenizer_dir(*dir);
  const auto ours = gguf::GgufFile::open(write_tokenizer_gguf(data, "render-roundtrip.gguf"));
  const render::TokenizerData back = dsv4::apps::read_tokenizer_metadata(ours);
  CHECK(back.tokens == data.tokens);
  CHECK(back.token_types == data.token_types);
  CHECK(back.merges == data.merges);
  CHECK(back.pre_name == data.pre_name);
  CHECK(back.pre_regexes == data.pre_regexes);
  CHECK(back.bos_id == 0);
  CHECK(back.eos_id == 1);
  CHECK(ours.get_string("tokenizer.ggml.pre") == "joyai-llm");

  const std::string llama = write_llama_style_gguf(data, "render-llama-style.gguf");
  const render::Tokenizer from_name(
      dsv4::apps::read_tokenizer_metadata(gguf::GgufFile::open(llama)));
  const auto vectors =
      nlohmann::json::parse(dsv4::testing::read_file(*dir + "/tokenizer_vectors.json"));
  for (const auto& v : vectors.at("plain"))
    CHECK(from_name.encode(v.at("text").get<std::string>()) ==
          v.at("ids").get<std::vector<int32_t>>());
  CHECK(run_tokenize(llama, "Hello, world", false) == from_name.encode("Hello, world"));
}

TEST_CASE("tokenizer metadata: missing or foreign tokenizers are refused by key") {
  const std::string path = scratch_dir() + "/render-unknown-pre.gguf";
  {
    gguf::GgufWriter writer(path);
    writer.add_metadata("tokenizer.ggml.model", gguf::Value::of_string("gpt2"));
    writer.add_metadata("tokenizer.ggml.pre", gguf::Value::of_string("qwen2"));
    writer.add_metadata("tokenizer.ggml.tokens", gguf::Value::of_string_array({"a"}));
    writer.finish();
  }
  CHECK_THROWS_WITH(dsv4::apps::read_tokenizer_metadata(gguf::GgufFile::open(path)),
                    doctest::Contains("qwen2"));
  const auto r = run_process({dsv4_binary(), "tokenize", "-m", path}, "x");
  CHECK(r.status == 1);
  CHECK(r.err.find("tokenizer.ggml.pre") != std::string::npos);
  const auto missing =
      run_process({dsv4_binary(), "tokenize", "-m", scratch_dir() + "/no-such.gguf"}, "x");
  CHECK(missing.status == 1);
  CHECK(missing.err.rfind("dsv4: error: ", 0) == 0);
}

TEST_CASE("dsv4 tokenize: a synthetic vocabulary in a GGUF works too") {
  const std::string model =
      write_tokenizer_gguf(render::synthetic_tokenizer(1000), "render-synthetic.gguf");
  const render::Tokenizer t(render::synthetic_tokenizer(1000));
  const std::string text = "<｜User｜>Hello there, 12345!<｜Assistant｜><think>";
  CHECK(run_tokenize(model, text, true) == t.encode(text, true));
}

TEST_CASE("dsv4 render: the four official cases byte for byte") {
  const auto dir = require_testdata("encoding");
  if (!dir) return;
  for (int n = 1; n <= 4; ++n) {
    CAPTURE(n);
    const auto r =
        run_process({dsv4_binary(), "render", "--mode", n == 4 ? "chat" : "thinking"},
                    dsv4::testing::read_file(*dir + "/test_input_" + std::to_string(n) + ".json"));
    REQUIRE_MESSAGE(r.status == 0, r.err);
    CHECK(r.out == dsv4::testing::read_file(*dir + "/test_output_" + std::to_string(n) + ".txt"));
  }
  const auto bad = run_process({dsv4_binary(), "render"}, "{not json");
  CHECK(bad.status == 1);
  CHECK(bad.err.rfind("dsv4: error: stdin", 0) == 0);
}

TEST_CASE("dsv4 parse: the tool-call completion of case 1") {
  const auto dir = require_testdata("encoding");
  if (!dir) return;
  const std::string prompt = dsv4::testing::read_file(*dir + "/test_output_1.txt");
  const std::string marker = "<｜Assistant｜><think>";
  const size_t start = prompt.find(marker) + marker.size();
  const std::string completion = prompt.substr(start, prompt.find("<｜User｜>", start) - start);
  const auto r = run_process({dsv4_binary(), "parse", "--mode", "thinking"}, completion);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const auto msg = nlohmann::json::parse(r.out);
  CHECK(msg.at("role") == "assistant");
  CHECK(msg.at("content") == "");
  CHECK(msg.at("reasoning_content") ==
        "The user wants to know the weather in Beijing. I should use the get_weather tool.");
  REQUIRE(msg.at("tool_calls").size() == 1);
  CHECK(msg.at("tool_calls")[0].at("function").at("name") == "get_weather");
  CHECK(nlohmann::json::parse(
            msg.at("tool_calls")[0].at("function").at("arguments").get<std::string>()) ==
        nlohmann::json{{"location", "Beijing"}, {"unit", "celsius"}});
  CHECK(run_process({dsv4_binary(), "parse"}, "x").status == 2);  // --mode is required
  const auto bytes =
      run_process({dsv4_binary(), "parse", "--mode", "chat"}, std::string("\xff\xfe ok", 5));
  CHECK(bytes.status == 0);
}
