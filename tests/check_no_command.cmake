# `polyphony` with no command prints its usage on stderr and exits with status 2.
execute_process(COMMAND ${CLI} RESULT_VARIABLE status ERROR_VARIABLE err OUTPUT_VARIABLE out)
if(NOT status EQUAL 2)
  message(FATAL_ERROR "polyphony without a command exited ${status}, expected 2")
endif()
if(NOT err MATCHES "usage: polyphony <command>")
  message(FATAL_ERROR "no usage on stderr: '${err}'")
endif()
