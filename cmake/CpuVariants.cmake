# Run-time dispatch of the CPU kernels (kernels/cpu_capability.h): each CPU kernel source is
# compiled once per instruction set, as an object library with that set's flags and
# POLYPHONY_CPU_VARIANT naming its CpuCapability, and the objects join the kernel library. Off
# x86-64 the variants compile without extra flags and are never chosen (the detection answers
# "baseline" there), so the dispatch needs no configuration of its own.
set(POLYPHONY_CPU_VARIANTS baseline avx2 avx512)
set(POLYPHONY_CPU_VARIANT_baseline kBaseline)
set(POLYPHONY_CPU_VARIANT_avx2 kAvx2)
set(POLYPHONY_CPU_VARIANT_avx512 kAvx512)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(POLYPHONY_CPU_VARIANT_FLAGS_avx2 -mavx2 -mfma)
  # ATen's AVX-512 set: F, BW, VL and DQ (the detection in kernels/cpu_capability.cpp asks for
  # the same four).
  set(POLYPHONY_CPU_VARIANT_FLAGS_avx512 -mavx2 -mfma -mavx512f -mavx512bw -mavx512vl -mavx512dq)
endif()

# Adds every compilation of `sources` to `target`. The sources include only light LibTorch headers
# (no precompiled header: its flags would not match the variants').
function(polyphony_cpu_kernel_variants target)
  foreach(variant IN LISTS POLYPHONY_CPU_VARIANTS)
    set(objects ${target}_cpu_${variant})
    add_library(${objects} OBJECT ${ARGN})
    # One object per source (no unity batches): the sources are small and light, and the symbol
    # check (build.cpu_variant_symbols) reads each compilation's objects by source name.
    set_target_properties(${objects} PROPERTIES UNITY_BUILD OFF)
    target_include_directories(${objects} PRIVATE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${objects} PRIVATE ${TORCH_LIBRARIES} fmt::fmt-header-only
                                             OpenMP::OpenMP_CXX)
    target_compile_definitions(${objects} PRIVATE
                               POLYPHONY_CPU_VARIANT=${POLYPHONY_CPU_VARIANT_${variant}})
    # Without errno, std::sqrt is one instruction the loops can vectorise (no kernel reads
    # errno); results are unchanged, as the vector square root is correctly rounded too.
    target_compile_options(${objects} PRIVATE ${POLYPHONY_WARNINGS} -fno-math-errno
                                              ${POLYPHONY_CPU_VARIANT_FLAGS_${variant}})
    target_sources(${target} PRIVATE $<TARGET_OBJECTS:${objects}>)
  endforeach()
endfunction()
