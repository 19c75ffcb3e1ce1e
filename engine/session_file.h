// Session state files: a session's tokens, last logits and KV state on disk, so that a
// conversation or a shared prompt prefix can be resumed without evaluating it again. Loading
// a file and continuing gives exactly the logits of the uninterrupted session.
//
// Format version 2 (version 1 kept fast indexer rows as f16). Little-endian; sizes in bytes;
// every field is unsigned except the int8 codes of fast indexer rows.
//
//   offset  size   field
//   0       8      magic "DSV4SESS"
//   8       4      format version (2)
//   12      4      header size (128)
//   16      8      file size, checksum included
//   24      8      tensor hash (ModelFingerprint::tensors)
//   32      48     12 × u32 shape (ModelFingerprint::shape)
//   80      8      context the saving session was sized for
//   88      4      precision: 0 ref, 1 fast
//   92      4      row type of the cached rows: 0 f32 (ref), 1 f16 (fast), as in GGUF
//   96      8      token count T
//   104     8      metadata size M
//   112     8      payload size P
//   120     8      zero
//   128     16·L   per layer: u32 compress ratio, raw rows, compressed rows, indexer rows
//           M      metadata: bytes the engine keeps but does not read (apps store JSON there)
//           P      payload:
//                    i32[T] tokens; f32[vocab] logits of the next token
//                    per layer, in order: the raw window rows, oldest position first
//                    (min(T, window) rows); the compressed rows (head_dim values of the
//                    row type each); the indexer rows: indexer_dim f32 values each (ref),
//                    or indexer_dim int8 FP4 codes then indexer_dim/32 int8 exponents
//                    (fast; simd/indexer_int8.h); then, for compressed layers, the
//                    attention compressor frontier and, for ratio-4 layers, the indexer's,
//                    each as f32 kv, score (ratio × lanes × width), and for two-lane
//                    (ratio-4) compressors prev_kv, prev_score (ratio × width)
//   end−8   8      checksum: XXH64 (seed 0) of every byte before it
//
// Every field is checked before the session changes: the magic, version, the file size
// against the header (truncation), the checksum (corruption), that the sections add up, the
// model fingerprint, the precision, the context, every row count against the token count and
// every FP4 code.
// A refused file leaves the session as it was and throws a one-line dsv4::Error naming the
// file and the defect.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "engine/model.h"
#include "engine/session.h"

namespace dsv4::engine {

// What ties a state to its model: the shape (layers, hidden, vocab, heads, head dim, rope dim,
// indexer dim, indexer heads, window, hyper-connections, experts, experts used) and a hash
// of every tensor's name, type and dims in file order with the first and last 64 bytes of
// its data, so that models of one shape with other weights are told apart without reading
// the whole file.
struct ModelFingerprint {
  std::array<uint32_t, 12> shape{};
  uint64_t tensors = 0;

  uint64_t hash() const;
};
ModelFingerprint model_fingerprint(const Model& model);

// The size of the file of a session of `config` holding `tokens` tokens.
uint64_t session_file_bytes(const ModelConfig& config, int64_t context, Precision precision,
                            int64_t tokens, uint64_t metadata_bytes = 0);

// Writes the session's state atomically (temporary file, fsync, rename).
void save_session_file(const std::string& path, const Session& session,
                       std::string_view metadata = {});

// Called with a file that passed every check, decoded, before the session changes; it may
// throw dsv4::Error to refuse the file.
using SessionFileCheck =
    std::function<void(std::string_view metadata, const SessionSnapshot& state)>;

// Replaces the session's state with the file's; returns the metadata. The session must
// have the model and precision the file was saved with and room for its tokens (restoring
// into a larger context is fine when both hold the whole window).
std::string load_session_file(const std::string& path, Session& session,
                              const SessionFileCheck& check = {});
// The same for a file's bytes in memory; `label` names it in errors.
std::string load_session_image(std::span<const uint8_t> image, const std::string& label,
                               Session& session, const SessionFileCheck& check = {});

}  // namespace dsv4::engine
