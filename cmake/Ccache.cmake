# ccache for C++ and CUDA when available. The sloppiness settings let ccache cache translation
# units that use the precompiled LibTorch header.
find_program(POLYPHONY_CCACHE ccache)
if(POLYPHONY_CCACHE)
  set(_launcher ${CMAKE_COMMAND} -E env
      "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      ${POLYPHONY_CCACHE})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${_launcher})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${_launcher})
  message(STATUS "Polyphony: using ccache (${POLYPHONY_CCACHE})")
endif()
