#include "engine/session_file.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <vector>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/hash64.h"
#include "base/mapped_file.h"

namespace dsv4::engine {
namespace {

static_assert(std::endian::native == std::endian::little,
              "session files are little-endian and written from memory as is");

constexpr char kMagic[8] = {'D', 'S', 'V', '4', 'S', 'E', 'S', 'S'};
// Version 2: fast sessions keep the indexer rows as int8 FP4 codes (version 1 had f16 rows).
constexpr uint32_t kVersion = 2;
constexpr uint64_t kHeaderBytes = 128;
constexpr uint64_t kLayerEntryBytes = 16;
constexpr uint64_t kChecksumBytes = 8;
constexpr uint64_t kTensorSampleBytes = 64;

constexpr const char* kShapeNames[12] = {
    "layers",   "hidden",      "vocab",         "heads",  "head dim",
    "rope dim", "indexer dim", "indexer heads", "window", "hyper-connections",
    "experts",  "experts used"};

// The header's fields (the layout is in session_file.h).
struct Header {
  uint64_t file_bytes = 0;
  ModelFingerprint fingerprint;
  uint64_t context = 0;
  uint32_t precision = 0;
  uint32_t row_type = 0;
  uint64_t tokens = 0;
  uint64_t metadata_bytes = 0;
  uint64_t payload_bytes = 0;
};

struct LayerCounts {
  uint32_t ratio = 0, raw = 0, compressed = 0, indexer = 0;
  bool operator==(const LayerCounts&) const = default;
};

void put32(uint8_t* p, uint32_t v) {
  std::memcpy(p, &v, sizeof v);
}
void put64(uint8_t* p, uint64_t v) {
  std::memcpy(p, &v, sizeof v);
}
uint32_t get32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
uint64_t get64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint32_t precision_code(Precision p) {
  return p == Precision::kRef ? 0 : 1;
}
const char* precision_name(uint32_t code) {
  return code == 0 ? "ref" : "fast";
}
uint64_t element_bytes(uint32_t precision) {
  return precision == 0 ? 4 : 2;
}
// Fast sessions keep the indexer rows as int8 FP4 codes (IndexKeys).
bool fp4_index(uint32_t precision) {
  return precision != 0;
}
simd::TensorType row_type_of(uint32_t precision) {
  return precision == 0 ? simd::TensorType::F32 : simd::TensorType::F16;
}

// Raw window rows a state keeps: the ring's capacity.
uint64_t ring_rows(const ModelConfig& c, uint64_t context) {
  return std::min<uint64_t>(static_cast<uint64_t>(c.window), context);
}

// What a state holding `tokens` tokens has in layer `l`: one compressed row per complete
// window of `ratio` tokens.
LayerCounts layer_counts(const ModelConfig& c, int l, uint64_t ring, uint64_t tokens) {
  LayerCounts n;
  n.ratio = static_cast<uint32_t>(c.ratio(l));
  n.raw = static_cast<uint32_t>(std::min(tokens, ring));
  if (n.ratio != 0) n.compressed = static_cast<uint32_t>(tokens / n.ratio);
  if (c.has_indexer(l)) n.indexer = n.compressed;
  return n;
}

uint64_t frontier_bytes(int ratio, int lanes, int width) {
  const uint64_t current = static_cast<uint64_t>(ratio) * lanes * width;
  const uint64_t previous = lanes == 2 ? static_cast<uint64_t>(ratio) * width : 0;
  return 2 * (current + previous) * sizeof(float);
}

uint64_t layer_bytes(const ModelConfig& c, int l, const LayerCounts& n, uint32_t precision) {
  uint64_t bytes =
      (static_cast<uint64_t>(n.raw) + n.compressed) * c.head_dim * element_bytes(precision) +
      static_cast<uint64_t>(n.indexer) * IndexKeys::row_bytes(c.indexer_dim, fp4_index(precision));
  if (n.ratio != 0) bytes += frontier_bytes(c.ratio(l), c.compress_lanes(l), c.head_dim);
  if (c.has_indexer(l)) bytes += frontier_bytes(c.ratio(l), 2, c.indexer_dim);
  return bytes;
}

uint64_t payload_bytes(const ModelConfig& c, uint64_t ring, uint32_t precision, uint64_t tokens) {
  uint64_t bytes = tokens * sizeof(int32_t) + static_cast<uint64_t>(c.vocab) * sizeof(float);
  for (int l = 0; l < c.n_layers; ++l)
    bytes += layer_bytes(c, l, layer_counts(c, l, ring, tokens), precision);
  return bytes;
}

void encode_header(const Header& h, uint8_t* out) {
  std::memset(out, 0, kHeaderBytes);
  std::memcpy(out, kMagic, sizeof kMagic);
  put32(out + 8, kVersion);
  put32(out + 12, static_cast<uint32_t>(kHeaderBytes));
  put64(out + 16, h.file_bytes);
  put64(out + 24, h.fingerprint.tensors);
  for (size_t i = 0; i < h.fingerprint.shape.size(); ++i)
    put32(out + 32 + 4 * i, h.fingerprint.shape[i]);
  put64(out + 80, h.context);
  put32(out + 88, h.precision);
  put32(out + 92, h.row_type);
  put64(out + 96, h.tokens);
  put64(out + 104, h.metadata_bytes);
  put64(out + 112, h.payload_bytes);
}

// Writes through to the file and the checksum.
class ChecksummedWriter {
 public:
  explicit ChecksummedWriter(const std::string& path) : file_(path) {}
  void write(const void* data, size_t size) {
    if (size == 0) return;
    file_.write(data, size);
    hash_.update(data, size);
  }
  template <typename T>
  void write_vector(const std::vector<T>& v) {
    write(v.data(), v.size() * sizeof(T));
  }
  size_t offset() const { return file_.offset(); }
  void commit() {
    const uint64_t sum = hash_.digest();
    file_.write(&sum, sizeof sum);
    file_.commit();
  }

 private:
  AtomicFileWriter file_;
  Hash64 hash_;
};

void write_rows(ChecksummedWriter& out, const RowStore& rows, int64_t count) {
  out.write(rows.raw_row(0), static_cast<size_t>(count) * rows.row_bytes());
}

void write_index_rows(ChecksummedWriter& out, const IndexKeys& rows, int64_t count) {
  std::vector<uint8_t> row(rows.row_bytes());
  for (int64_t i = 0; i < count; ++i) {
    rows.save_row(i, row.data());
    out.write(row.data(), row.size());
  }
}

void write_frontier(ChecksummedWriter& out, const CompressorFrontier& f) {
  out.write_vector(f.kv);
  out.write_vector(f.score);
  out.write_vector(f.prev_kv);
  out.write_vector(f.prev_score);
}

// Reads the payload front to back; the sizes were checked before.
class PayloadReader {
 public:
  explicit PayloadReader(const uint8_t* p) : p_(p) {}
  void read(void* out, size_t size) {
    if (size == 0) return;
    std::memcpy(out, p_, size);
    p_ += size;
  }
  template <typename T>
  void read_vector(std::vector<T>& v) {
    read(v.data(), v.size() * sizeof(T));
  }
  void read_rows(RowStore& rows, int64_t count) {
    read(rows.raw_row(0), static_cast<size_t>(count) * rows.row_bytes());
    rows.set_size(count);
  }
  // `label` and `layer` name the file and layer if a row is refused.
  void read_index_rows(IndexKeys& rows, int64_t count, const std::string& label, int layer) {
    for (int64_t i = 0; i < count; ++i) {
      if (!rows.load_row(i, p_))
        fail(label, ": layer ", layer, " indexer row ", i,
             " holds a code that is not an FP4 (doubled E2M1) value");
      p_ += rows.row_bytes();
    }
  }
  void read_frontier(CompressorFrontier& f) {
    read_vector(f.kv);
    read_vector(f.score);
    read_vector(f.prev_kv);
    read_vector(f.prev_score);
  }

 private:
  const uint8_t* p_;
};

// Refuses the file unless it was made for `session`'s model, precision and context.
void check_against_session(const std::string& label, const Header& h, const Session& session) {
  const ModelConfig& c = session.model().config();
  const ModelFingerprint mine = model_fingerprint(session.model());
  for (size_t i = 0; i < mine.shape.size(); ++i)
    if (h.fingerprint.shape[i] != mine.shape[i])
      fail(label, ": saved with another model: ", kShapeNames[i], " ", h.fingerprint.shape[i],
           " in the file, ", mine.shape[i], " in ", session.model().file().path());
  if (h.fingerprint.tensors != mine.tensors)
    fail(label, ": saved with another model: its tensors or weights differ from those of ",
         session.model().file().path());
  const uint32_t precision = precision_code(session.options().precision);
  if (h.precision != precision)
    fail(label, ": saved with --precision ", precision_name(h.precision), ", the session uses ",
         precision_name(precision));
  const uint64_t context = static_cast<uint64_t>(session.options().context);
  if (h.tokens > context)
    fail(label, ": holds ", h.tokens, " tokens, more than the session's context of ", context,
         " (raise --ctx)");
  if (ring_rows(c, h.context) != ring_rows(c, context))
    fail(label, ": saved with a context of ", h.context, " tokens, which keeps ",
         ring_rows(c, h.context), " window rows; a context of ", context, " keeps ",
         ring_rows(c, context));
}

// Checks the file's structure against its own header and returns the header.
Header parse_header(std::span<const uint8_t> image, const std::string& label) {
  const uint8_t* p = image.data();
  const uint64_t size = image.size();
  if (size > 0 && std::memcmp(p, kMagic, std::min<uint64_t>(size, sizeof kMagic)) != 0)
    fail(label, ": not a dsv4 session file (it does not start with \"DSV4SESS\")");
  if (size < kHeaderBytes + kChecksumBytes)
    fail(label, ": truncated: ", size, " bytes, less than a session file's header");
  if (get32(p + 8) != kVersion)
    fail(label, ": session file format version ", get32(p + 8), "; this build reads version ",
         kVersion);
  if (get32(p + 12) != kHeaderBytes)
    fail(label, ": header size ", get32(p + 12), ", expected ", kHeaderBytes);
  Header h;
  h.file_bytes = get64(p + 16);
  if (size < h.file_bytes)
    fail(label, ": truncated: ", size, " of the ", h.file_bytes, " bytes its header announces");
  if (size > h.file_bytes)
    fail(label, ": ", size, " bytes, more than the ", h.file_bytes,
         " its header announces (trailing data)");
  if (hash64(p, size - kChecksumBytes) != get64(p + size - kChecksumBytes))
    fail(label, ": checksum mismatch: the file is corrupted");

  h.fingerprint.tensors = get64(p + 24);
  for (size_t i = 0; i < h.fingerprint.shape.size(); ++i)
    h.fingerprint.shape[i] = get32(p + 32 + 4 * i);
  h.context = get64(p + 80);
  h.precision = get32(p + 88);
  h.row_type = get32(p + 92);
  h.tokens = get64(p + 96);
  h.metadata_bytes = get64(p + 104);
  h.payload_bytes = get64(p + 112);
  if (get64(p + 120) != 0) fail(label, ": reserved header bytes are not zero");
  if (h.precision > 1) fail(label, ": unknown precision code ", h.precision);
  if (h.row_type != static_cast<uint32_t>(row_type_of(h.precision)))
    fail(label, ": row type ", h.row_type, " does not match precision ",
         precision_name(h.precision));
  if (h.tokens > h.context)
    fail(label, ": holds ", h.tokens, " tokens, more than its context of ", h.context);
  // Each section fits in the file (no overflow: every size is at most the file's).
  const uint64_t table = static_cast<uint64_t>(h.fingerprint.shape[0]) * kLayerEntryBytes;
  const uint64_t room = size - kHeaderBytes - kChecksumBytes;
  if (table > room || h.metadata_bytes > room - table ||
      h.payload_bytes != room - table - h.metadata_bytes)
    fail(label, ": the sizes of its sections (", h.fingerprint.shape[0], " layers, ",
         h.metadata_bytes, " bytes of metadata, ", h.payload_bytes,
         " of state) do not add up to the file size ", size);
  return h;
}

}  // namespace

uint64_t ModelFingerprint::hash() const {
  Hash64 h;
  h.update(shape.data(), sizeof(shape));
  h.update(&tensors, sizeof tensors);
  return h.digest();
}

ModelFingerprint model_fingerprint(const Model& model) {
  const ModelConfig& c = model.config();
  ModelFingerprint f;
  const int shape[12] = {c.n_layers, c.hidden,   c.vocab,       c.n_heads,
                         c.head_dim, c.rope_dim, c.indexer_dim, c.indexer_heads,
                         c.window,   c.hc_count, c.n_experts,   c.n_experts_used};
  for (size_t i = 0; i < f.shape.size(); ++i) f.shape[i] = static_cast<uint32_t>(shape[i]);
  Hash64 h;
  for (const gguf::TensorInfo& t : model.file().tensors()) {
    const uint64_t name_bytes = t.name.size();
    const auto type = static_cast<uint32_t>(t.type);
    const uint64_t dims = t.dims.size();
    h.update(&name_bytes, sizeof name_bytes);
    h.update(t.name);
    h.update(&type, sizeof type);
    h.update(&dims, sizeof dims);
    h.update(t.dims.data(), t.dims.size() * sizeof(int64_t));
    const uint8_t* data = model.file().tensor_data(t);
    const uint64_t sample = std::min(t.size_bytes, kTensorSampleBytes);
    h.update(data, sample);
    h.update(data + t.size_bytes - sample, sample);
  }
  f.tensors = h.digest();
  return f;
}

uint64_t session_file_bytes(const ModelConfig& config, int64_t context, Precision precision,
                            int64_t tokens, uint64_t metadata_bytes) {
  const uint64_t ring = ring_rows(config, static_cast<uint64_t>(context));
  return kHeaderBytes + static_cast<uint64_t>(config.n_layers) * kLayerEntryBytes + metadata_bytes +
         payload_bytes(config, ring, precision_code(precision), static_cast<uint64_t>(tokens)) +
         kChecksumBytes;
}

void save_session_file(const std::string& path, const Session& session, std::string_view metadata) {
  const ModelConfig& c = session.model().config();
  const KvState& kv = session.kv_state();
  const uint64_t tokens = static_cast<uint64_t>(session.position());
  const uint64_t context = static_cast<uint64_t>(session.options().context);
  const uint64_t ring = ring_rows(c, context);
  Header h;
  h.fingerprint = model_fingerprint(session.model());
  h.context = context;
  h.precision = precision_code(session.options().precision);
  h.row_type = static_cast<uint32_t>(row_type_of(h.precision));
  h.tokens = tokens;
  h.metadata_bytes = metadata.size();
  h.payload_bytes = payload_bytes(c, ring, h.precision, tokens);
  h.file_bytes = session_file_bytes(c, session.options().context, session.options().precision,
                                    session.position(), metadata.size());

  uint8_t header[kHeaderBytes];
  encode_header(h, header);
  ChecksummedWriter out(path);
  out.write(header, sizeof header);
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerCounts n = layer_counts(c, l, ring, tokens);
    const LayerState& s = kv.layers[static_cast<size_t>(l)];
    // The state holds what its token count implies (a mismatch is an engine bug).
    if (s.compressed.size() != n.compressed || s.index_rows.size() != n.indexer)
      fail(path, ": layer ", l, " holds ", s.compressed.size(), " compressed and ",
           s.index_rows.size(), " indexer rows after ", tokens, " tokens; expected ", n.compressed,
           " and ", n.indexer);
    uint8_t entry[kLayerEntryBytes];
    put32(entry, n.ratio);
    put32(entry + 4, n.raw);
    put32(entry + 8, n.compressed);
    put32(entry + 12, n.indexer);
    out.write(entry, sizeof entry);
  }
  out.write(metadata.data(), metadata.size());
  out.write_vector(session.tokens());
  out.write(session.last_logits().data(), session.last_logits().size_bytes());
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerCounts n = layer_counts(c, l, ring, tokens);
    const LayerState& s = kv.layers[static_cast<size_t>(l)];
    for (uint64_t pos = tokens - n.raw; pos < tokens; ++pos)
      out.write(s.raw.raw_row(static_cast<int64_t>(pos % ring)), s.raw.row_bytes());
    write_rows(out, s.compressed, n.compressed);
    write_index_rows(out, s.index_rows, n.indexer);
    if (n.ratio != 0) write_frontier(out, s.frontier);
    if (c.has_indexer(l)) write_frontier(out, s.index_frontier);
  }
  if (out.offset() + kChecksumBytes != h.file_bytes)
    fail(path, ": wrote ", out.offset() + kChecksumBytes, " bytes, expected ", h.file_bytes);
  out.commit();
}

std::string load_session_image(std::span<const uint8_t> image, const std::string& label,
                               Session& session, const SessionFileCheck& check) {
  const Header h = parse_header(image, label);
  check_against_session(label, h, session);
  const ModelConfig& c = session.model().config();
  const uint64_t ring = ring_rows(c, h.context);
  const uint8_t* table = image.data() + kHeaderBytes;
  for (int l = 0; l < c.n_layers; ++l) {
    const uint8_t* e = table + l * kLayerEntryBytes;
    const LayerCounts found{get32(e), get32(e + 4), get32(e + 8), get32(e + 12)};
    const LayerCounts expected = layer_counts(c, l, ring, h.tokens);
    if (found != expected)
      fail(label, ": layer ", l, " is listed with ratio ", found.ratio, " and ", found.raw, "/",
           found.compressed, "/", found.indexer,
           " window/compressed/indexer rows; the model and its ", h.tokens, " tokens imply ratio ",
           expected.ratio, " and ", expected.raw, "/", expected.compressed, "/", expected.indexer);
  }
  const uint64_t expected_payload = payload_bytes(c, ring, h.precision, h.tokens);
  if (h.payload_bytes != expected_payload)
    fail(label, ": its state is ", h.payload_bytes, " bytes, expected ", expected_payload);

  const uint8_t* metadata = table + c.n_layers * kLayerEntryBytes;
  SessionSnapshot state;
  state.kv.init(c, session.options().context, row_type_of(h.precision));
  state.tokens.resize(h.tokens);
  state.last_logits.resize(static_cast<size_t>(c.vocab));
  PayloadReader in(metadata + h.metadata_bytes);
  in.read_vector(state.tokens);
  for (size_t i = 0; i < state.tokens.size(); ++i)
    if (state.tokens[i] < 0 || state.tokens[i] >= c.vocab)
      fail(label, ": token ", i, " is ", state.tokens[i], ", outside the vocabulary of ", c.vocab);
  in.read_vector(state.last_logits);
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerCounts n = layer_counts(c, l, ring, h.tokens);
    LayerState& s = state.kv.layers[static_cast<size_t>(l)];
    for (uint64_t pos = h.tokens - n.raw; pos < h.tokens; ++pos)
      in.read(s.raw.raw_row(static_cast<int64_t>(pos % ring)), s.raw.row_bytes());
    s.raw.set_size(n.raw);
    in.read_rows(s.compressed, n.compressed);
    in.read_index_rows(s.index_rows, n.indexer, label, l);
    if (n.ratio != 0) in.read_frontier(s.frontier);
    if (c.has_indexer(l)) in.read_frontier(s.index_frontier);
  }
  const std::string_view meta(reinterpret_cast<const char*>(metadata), h.metadata_bytes);
  if (check) check(meta, state);
  session.restore(state);
  return std::string(meta);
}

std::string load_session_file(const std::string& path, Session& session,
                              const SessionFileCheck& check) {
  const MappedFile file(path);
  return load_session_image(file.bytes(), path, session, check);
}

}  // namespace dsv4::engine
