// The content hash of a model file: XXH64 (base/hash64.h) of every byte, written
// "xxh64:<16 hex digits>". Generation results record it so that a rerun (`dsv4 verify`) can
// tell whether it used the same weights. Hashing reads the whole file (minutes for the full
// Flash model), so the result is cached in "<model>.xxh64" beside it, keyed by the file's
// size and modification time, or in $XDG_CACHE_HOME/dsv4 (~/.cache/dsv4) when the model's
// directory is not writable. A cache that does not match the file is ignored and rewritten.
#pragma once

#include <string>

namespace dsv4::apps {

std::string model_content_hash(const std::string& model_path);

}  // namespace dsv4::apps
