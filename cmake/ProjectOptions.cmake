# Compile options shared by every project target (not by dependencies).
add_library(dsv4_options INTERFACE)
# Floating-point contraction is off so that scalar references and vector kernels evaluate
# the same expressions with the same roundings (explicit MulAdd where fusion is intended).
target_compile_options(dsv4_options INTERFACE -Wall -Wextra -Werror -Wno-missing-field-initializers
  -ffp-contract=off)
target_include_directories(dsv4_options INTERFACE ${PROJECT_SOURCE_DIR})
target_compile_definitions(dsv4_options INTERFACE DSV4_VERSION="${PROJECT_VERSION}")

# Highway: SSE4 is the x86 baseline, so the dispatched targets are SSE4, AVX2, AVX3 and
# AVX3_DL (opted in below). Highway 1.0.3's SSE4 target also requires AES and PCLMUL; without
# them (or with a baseline below SSE4) it would build SCALAR/SSSE3 copies of every kernel.
# On Arm the baseline is NEON and SVE, SVE2, SVE_256 and SVE2_128 are added. SVE vectors are
# sizeless types: kernels keep them in named variables, never in arrays or structs
# (scripts/test-aarch64 builds and runs every Arm target).
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  target_compile_options(dsv4_options INTERFACE -march=x86-64-v2 -maes -mpclmul)
endif()
target_compile_definitions(dsv4_options INTERFACE HWY_WANT_AVX3_DL)

if(DSV4_SANITIZE)
  string(REPLACE "," ";" _sanitizers "${DSV4_SANITIZE}")
  foreach(_s IN LISTS _sanitizers)
    target_compile_options(dsv4_options INTERFACE -fsanitize=${_s})
    target_link_options(dsv4_options INTERFACE -fsanitize=${_s})
  endforeach()
  # -O1 -g1 (after the build type's flags, so they win): instrumented code at -O2 -g took
  # twice as long to compile, and line tables are all a report's stack needs.
  # Instrumented -O1 code makes GCC report maybe-uninitialized inside libstdc++'s <regex>
  # (false positives); they stay warnings there.
  target_compile_options(dsv4_options INTERFACE -fno-omit-frame-pointer -fno-sanitize-recover=all
    -O1 -g1 $<$<CXX_COMPILER_ID:GNU>:-Wno-error=maybe-uninitialized>)
endif()

# Some sources use GCC-only pragmas and warning names; clang (fuzzing) skips them silently.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  target_compile_options(dsv4_options INTERFACE -Wno-unknown-warning-option -Wno-unknown-pragmas)
endif()

# Fuzzing instruments every project library for coverage; only the targets in fuzz/ link
# libFuzzer's main.
if(DSV4_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "DSV4_FUZZ needs clang (libFuzzer): configure with CXX=clang++-14")
  endif()
  target_compile_options(dsv4_options INTERFACE -fsanitize=fuzzer-no-link)
  # The parsers under test hold no SIMD code: the baseline target alone keeps the
  # instrumented build small.
  target_compile_definitions(dsv4_options INTERFACE HWY_COMPILE_ONLY_STATIC=1)
endif()

# One static library per folder; `dsv4_library(name sources...)` keeps them uniform.
function(dsv4_library name)
  add_library(${name} STATIC ${ARGN})
  target_link_libraries(${name} PUBLIC dsv4_options)
endfunction()
