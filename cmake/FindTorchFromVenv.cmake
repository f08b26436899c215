# LibTorch is PyTorch's own: ask the project venv's Python (or POLYPHONY_PYTHON, or the python3
# on PATH, as on the GPU machine) where its CMake package lives, unless Torch_DIR is given.
if(NOT Torch_DIR)
  set(_candidates "${POLYPHONY_PYTHON}" "${CMAKE_SOURCE_DIR}/.venv/bin/python")
  find_program(_system_python python3)
  list(APPEND _candidates "${_system_python}")
  foreach(_py IN LISTS _candidates)
    if(_py AND EXISTS "${_py}")
      execute_process(COMMAND "${_py}" -c "import torch;print(torch.utils.cmake_prefix_path)"
                      OUTPUT_VARIABLE _prefix OUTPUT_STRIP_TRAILING_WHITESPACE
                      RESULT_VARIABLE _rc ERROR_QUIET)
      if(_rc EQUAL 0 AND _prefix)
        list(APPEND CMAKE_PREFIX_PATH "${_prefix}")
        set(POLYPHONY_PYTHON "${_py}" CACHE FILEPATH "Python whose torch provides LibTorch" FORCE)
        message(STATUS "Polyphony: LibTorch from ${_py} (${_prefix})")
        break()
      endif()
    endif()
  endforeach()
endif()
