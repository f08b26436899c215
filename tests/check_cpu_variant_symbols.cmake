# cmake -DNM=nm -DOBJECTS="a.o|b.o" -P check_cpu_variant_symbols.cmake
# The AVX2 and AVX-512 compilations of the CPU kernels may define no code that another compilation
# defines too: the linker keeps one copy of such a symbol (an inline function or a template the
# kernels share, say), and if it kept the AVX-512 copy, the baseline path would run AVX-512
# instructions on a CPU without them. Every global or weak function they define must therefore
# carry their CpuCapability in its name; shared data (a static of LibTorch's) is harmless.
string(REPLACE "|" ";" OBJECTS "${OBJECTS}")
foreach(object IN LISTS OBJECTS)
  execute_process(COMMAND ${NM} -C --defined-only ${object} RESULT_VARIABLE status
                  OUTPUT_VARIABLE symbols ERROR_VARIABLE error)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${NM} ${object} failed: ${error}")
  endif()
  string(REPLACE "\n" ";" lines "${symbols}")
  set(found_kernel FALSE)
  foreach(line IN LISTS lines)
    if(NOT line MATCHES "^[0-9a-f]+ [TWi] (.*)$")
      continue()
    endif()
    set(name "${CMAKE_MATCH_1}")
    if(name MATCHES "polyphony::kernels::CpuCapability\\)[12]")
      set(found_kernel TRUE)
    else()
      message(SEND_ERROR "${object}: defines shared code that the baseline may end up calling: "
                         "${name}")
    endif()
  endforeach()
  if(NOT found_kernel)
    message(SEND_ERROR "${object}: no kernel compiled for a CpuCapability above the baseline")
  endif()
endforeach()
