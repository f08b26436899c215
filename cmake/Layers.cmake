# One static library per layer (kernels, analysis, models, engine, tools), each linked only to
# the layers below it, and a build step that fails when a source includes a header of a layer it
# may not see (the rules are in cmake/check_layers.cmake; docs/architecture.md draws them).

# Settings every layer library shares: LibTorch and the header libraries, warnings, OpenMP, the
# include root, and the precompiled LibTorch headers (compiled once, by the kernels layer).
function(polyphony_layer_library name)
  add_library(${name} STATIC ${ARGN})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  # fmt header-only: LibTorch's include directory carries its own fmt, which shadows the system
  # one, so every translation unit must use whichever fmt headers come first, compiled inline.
  target_link_libraries(${name} PUBLIC ${TORCH_LIBRARIES} fmt::fmt-header-only
                                       nlohmann_json::nlohmann_json Threads::Threads
                                       OpenMP::OpenMP_CXX)
  target_compile_definitions(${name} PUBLIC POLYPHONY_VERSION="${PROJECT_VERSION}")
  target_compile_options(${name} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${POLYPHONY_WARNINGS}>)
  # libtorch.so exports its own, older std::filesystem functions (remove_all crashes); naming
  # libstdc++ first on the link line makes the dynamic linker bind those symbols to the system's.
  target_link_options(${name} INTERFACE "LINKER:--push-state,--no-as-needed" "-lstdc++"
                      "LINKER:--pop-state")
  if(POLYPHONY_WITH_CUDA)
    target_compile_definitions(${name} PUBLIC POLYPHONY_WITH_CUDA=1)
    target_link_libraries(${name} PUBLIC CUDA::cudart)
  endif()
  polyphony_use_precompiled_headers(${name})
  add_dependencies(${name} polyphony_layer_check)
endfunction()

# Only the sources that include LibTorch's large headers (<torch/...> or <ATen/ATen.h>), directly
# or through one of the project's headers that do, compile with the precompiled LibTorch headers.
# Measured with GCC 12: loading them costs a source that needs no LibTorch more than its whole
# compilation without them (sweep_command.cpp: 28 s with, 19 s without), and saves a source that
# does about a third (evaluator_test.cpp: 21 s against 34 s). A clean build of the command line
# (no ccache, 2 cores, 2026-11-28): 629 s, where the header on every source took 803 s.
# In the unity build (POLYPHONY_UNITY, the default) a batch takes the header as a whole, whatever
# its sources include: the choice below matters when batches are off.
function(polyphony_use_precompiled_headers name)
  if(NOT POLYPHONY_PCH)
    return()
  endif()
  if(name STREQUAL "polyphony_kernels")
    target_precompile_headers(${name} PRIVATE
      $<$<COMPILE_LANGUAGE:CXX>:<torch/torch.h$<ANGLE-R>>
      $<$<COMPILE_LANGUAGE:CXX>:<nlohmann/json.hpp$<ANGLE-R>>
      $<$<COMPILE_LANGUAGE:CXX>:<fmt/format.h$<ANGLE-R>>)
  else()
    target_precompile_headers(${name} REUSE_FROM polyphony_kernels)
  endif()
  get_target_property(sources ${name} SOURCES)
  get_target_property(source_dir ${name} SOURCE_DIR)
  foreach(source IN LISTS sources)
    if(NOT source MATCHES "\\.cpp$")
      continue()
    endif()
    if(NOT IS_ABSOLUTE "${source}")
      set(source "${source_dir}/${source}")
    endif()
    file(STRINGS "${source}" torch_includes REGEX "${POLYPHONY_TORCH_INCLUDE_PATTERN}")
    if(NOT torch_includes)
      set_source_files_properties("${source}" TARGET_DIRECTORY ${name} PROPERTIES
                                  SKIP_PRECOMPILE_HEADERS ON)
    endif()
  endforeach()
endfunction()

# The project's headers that include LibTorch's large headers: a source including one of them needs
# LibTorch's headers as much as one that includes them itself.
file(GLOB_RECURSE project_headers ${PROJECT_SOURCE_DIR}/common/*.h ${PROJECT_SOURCE_DIR}/kernels/*.h
     ${PROJECT_SOURCE_DIR}/analysis/*.h ${PROJECT_SOURCE_DIR}/models/*.h
     ${PROJECT_SOURCE_DIR}/engine/*.h ${PROJECT_SOURCE_DIR}/benchmarks/*.h
     ${PROJECT_SOURCE_DIR}/tools/*.h ${PROJECT_SOURCE_DIR}/tests/*.h)
set(large_torch_headers "#include <(torch/[a-z_/]+|ATen/ATen)\\.h>")
set(POLYPHONY_TORCH_INCLUDE_PATTERN "${large_torch_headers}")
foreach(header IN LISTS project_headers)
  file(STRINGS "${header}" torch_includes REGEX "${large_torch_headers}")
  if(torch_includes)
    get_filename_component(header_name "${header}" NAME)
    string(REPLACE "." "\\." header_name "${header_name}")
    string(APPEND POLYPHONY_TORCH_INCLUDE_PATTERN "|#include \"([a-z_]+/)*${header_name}\"")
  endif()
endforeach()

# The include check runs before any layer compiles, and again whenever a source changes.
file(GLOB_RECURSE POLYPHONY_LAYER_SOURCES CONFIGURE_DEPENDS
     ${PROJECT_SOURCE_DIR}/common/*.h
     ${PROJECT_SOURCE_DIR}/kernels/*.h ${PROJECT_SOURCE_DIR}/kernels/*.cpp
     ${PROJECT_SOURCE_DIR}/kernels/*.cu ${PROJECT_SOURCE_DIR}/kernels/*.cuh
     ${PROJECT_SOURCE_DIR}/analysis/*.h ${PROJECT_SOURCE_DIR}/analysis/*.cpp
     ${PROJECT_SOURCE_DIR}/models/*.h ${PROJECT_SOURCE_DIR}/models/*.cpp
     ${PROJECT_SOURCE_DIR}/engine/*.h ${PROJECT_SOURCE_DIR}/engine/*.cpp
     ${PROJECT_SOURCE_DIR}/benchmarks/*.h ${PROJECT_SOURCE_DIR}/benchmarks/*.cpp
     ${PROJECT_SOURCE_DIR}/tools/*.h ${PROJECT_SOURCE_DIR}/tools/*.cpp
     ${PROJECT_SOURCE_DIR}/tests/*.h ${PROJECT_SOURCE_DIR}/tests/*.cpp)
set(stamp ${CMAKE_BINARY_DIR}/layer_check.stamp)
add_custom_command(
  OUTPUT ${stamp}
  COMMAND ${CMAKE_COMMAND} -DROOT=${PROJECT_SOURCE_DIR} -P ${PROJECT_SOURCE_DIR}/cmake/check_layers.cmake
  COMMAND ${CMAKE_COMMAND} -E touch ${stamp}
  DEPENDS ${POLYPHONY_LAYER_SOURCES} ${PROJECT_SOURCE_DIR}/cmake/check_layers.cmake
  COMMENT "Checking that every source includes only the layers below it"
  VERBATIM)
add_custom_target(polyphony_layer_check DEPENDS ${stamp})
