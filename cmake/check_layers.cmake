cmake_minimum_required(VERSION 3.18)
# cmake -DROOT=SOURCE_DIR -P check_layers.cmake
# Fails, naming the file, line and header, when a source includes "FOLDER/...", <FOLDER/...> or a
# relative path into FOLDER of a layer its own folder may not see. Layers, lowest first: kernels and analysis (independent of each other),
# models, engine, benchmarks, tools; tests see everything; the fuzz targets see the readers of
# the engine and the tools.

# What each folder may include: itself and the folders or single headers listed. The engine sees
# the models only through the interface every model implements, and the kernels for the
# optimisers' row updates.
set(RULES
    "common:common"
    "kernels:common,kernels"
    "analysis:common,analysis"
    "models:common,kernels,analysis,models"
    "engine:common,kernels,analysis,engine,models/recommender.h"
    "benchmarks:common,kernels,analysis,models,engine,benchmarks"
    "tools:common,kernels,analysis,models,engine,benchmarks,tools"
    "tests:common,kernels,analysis,models,engine,benchmarks,tools,tests"
    "fuzz:common,engine,tools,fuzz")

foreach(rule IN LISTS RULES)
  string(REPLACE ":" ";" parts "${rule}")
  list(GET parts 0 layer)
  list(GET parts 1 allowed)
  string(REPLACE "," ";" allowed "${allowed}")
  set(allowed_${layer} ${allowed})
  list(APPEND layers ${layer})
endforeach()

file(GLOB_RECURSE sources ${ROOT}/common/* ${ROOT}/kernels/* ${ROOT}/analysis/* ${ROOT}/models/*
     ${ROOT}/engine/* ${ROOT}/benchmarks/* ${ROOT}/tools/* ${ROOT}/tests/* ${ROOT}/fuzz/*)
list(FILTER sources INCLUDE REGEX "\\.(h|cpp|cu|cuh)$")
set(violations "")
foreach(source IN LISTS sources)
  file(RELATIVE_PATH relative ${ROOT} ${source})
  string(REGEX MATCH "^[^/]+" layer "${relative}")
  if(NOT DEFINED allowed_${layer})
    continue()
  endif()
  file(STRINGS ${source} lines)
  set(number 0)
  foreach(line IN LISTS lines)
    math(EXPR number "${number} + 1")
    # "…" and <…> alike: <engine/…> names the project's folder as surely as "engine/…" does.
    if(NOT line MATCHES "^[ \t]*#[ \t]*include[ \t]*[\"<]([^\">]+)[\">]")
      continue()
    endif()
    set(header ${CMAKE_MATCH_1})
    if(header MATCHES "^\\.\\.?/")
      # A relative path ("../engine/…") is read from the source's folder, as the compiler does.
      get_filename_component(source_folder ${source} DIRECTORY)
      get_filename_component(resolved ${header} ABSOLUTE BASE_DIR ${source_folder})
      file(RELATIVE_PATH header ${ROOT} ${resolved})
    endif()
    string(REGEX MATCH "^[^/]+" folder "${header}")
    if(header STREQUAL folder OR NOT folder IN_LIST layers)
      continue()  # a header beside the source ("test_support.h") or outside the project
    endif()
    if(folder IN_LIST allowed_${layer} OR header IN_LIST allowed_${layer})
      continue()
    endif()
    string(REPLACE ";" ", " may "${allowed_${layer}}")
    string(APPEND violations
           "\n  ${relative}:${number}: includes \"${header}\"; ${layer}/ may include only ${may}")
  endforeach()
endforeach()
if(violations)
  message(FATAL_ERROR "layering broken (cmake/check_layers.cmake has the rules):${violations}")
endif()
