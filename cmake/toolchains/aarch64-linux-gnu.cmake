# Cross-compiling for 64-bit Arm Linux with Debian's g++-aarch64-linux-gnu against the arm64
# multiarch packages of the dependencies (dpkg --add-architecture arm64; scripts/test-aarch64
# installs them). Tests and test discovery run under qemu-user with every CPU feature it
# emulates (-cpu max: NEON, SVE, SVE2), so each Highway target's kernels run.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Multiarch: arm64 libraries and CMake packages live in /usr/lib/aarch64-linux-gnu, headers
# in /usr/include; the host's x86 directories are not searched for this architecture.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
# The CPU model comes from QEMU_CPU ("max" when unset), so that a test can ask for another SVE
# vector length. The loader and libraries are the arm64 multiarch packages' (libc6:arm64 puts
# the loader at /lib/ld-linux-aarch64.so.1), so no -L prefix: with the cross toolchain's
# /usr/aarch64-linux-gnu as prefix, a child forked under qemu-user 7.2 hangs.
if(NOT DEFINED CMAKE_CROSSCOMPILING_EMULATOR)
  set(CMAKE_CROSSCOMPILING_EMULATOR /usr/bin/qemu-aarch64)
endif()
