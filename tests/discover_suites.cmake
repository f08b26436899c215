# Registers one ctest per GoogleTest suite of EXE (rather than one per case, as
# gtest_discover_tests does): under the sanitizers each process start costs about a second, and
# the suite runs ~400 cases. Run after EXE is built; writes OUT, which ctest includes.
#   cmake -DEXE=... -DOUT=... -DFAIL_REGEX=... -DENVIRONMENT=... -P discover_suites.cmake
execute_process(COMMAND "${EXE}" --gtest_list_tests OUTPUT_VARIABLE listing RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${EXE} --gtest_list_tests failed (${status})")
endif()
string(REPLACE "\n" ";" lines "${listing}")
set(script "")
foreach(line IN LISTS lines)
  # A suite's line: its name and a dot at the start (cases are indented below it).
  if(line MATCHES "^([A-Za-z0-9_/]+)\\.( |$)")
    set(suite "${CMAKE_MATCH_1}")
    string(APPEND script
      "add_test([=[${suite}.*]=] [=[${EXE}]=] [=[--gtest_filter=${suite}.*]=])\n"
      "set_tests_properties([=[${suite}.*]=] PROPERTIES TIMEOUT 900 "
      "ENVIRONMENT [=[${ENVIRONMENT}]=] FAIL_REGULAR_EXPRESSION [=[${FAIL_REGEX}]=])\n")
  endif()
endforeach()
file(WRITE "${OUT}" "${script}")
