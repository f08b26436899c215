# cmake -DSCRIPT=cmake/check_layers.cmake -DSCRATCH=DIR -P check_layers_test.cmake
# The layer check passes a tree that keeps the rules and fails, naming file, line and header, on
# one that breaks them (a model including the trainer; the engine including a model's header; a
# kernel reaching up with <…> and with a relative path).
file(REMOVE_RECURSE ${SCRATCH})
file(WRITE ${SCRATCH}/models/good.h "#include \"kernels/spectral_norm.h\"\n#include <vector>\n")
file(WRITE ${SCRATCH}/engine/eval/good.cpp "#include \"models/recommender.h\"\n")
execute_process(COMMAND ${CMAKE_COMMAND} -DROOT=${SCRATCH} -P ${SCRIPT}
                RESULT_VARIABLE status ERROR_VARIABLE output)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "a tree that keeps the layers was refused:\n${output}")
endif()
file(WRITE ${SCRATCH}/models/bad.h "// a model\n#include \"engine/train/trainer.h\"\n")
file(WRITE ${SCRATCH}/engine/eval/bad.cpp "#include \"models/protomf.h\"\n")
file(WRITE ${SCRATCH}/kernels/bad.cpp "#include <models/protomf.h>\n#include \"../engine/eval/good.cpp\"\n")
execute_process(COMMAND ${CMAKE_COMMAND} -DROOT=${SCRATCH} -P ${SCRIPT}
                RESULT_VARIABLE status ERROR_VARIABLE output)
if(status EQUAL 0)
  message(FATAL_ERROR "includes across the layers were not refused")
endif()
foreach(expected "models/bad.h:2: includes \"engine/train/trainer.h\""
                 "engine/eval/bad.cpp:1: includes \"models/protomf.h\""
                 "kernels/bad.cpp:1: includes \"models/protomf.h\""
                 "kernels/bad.cpp:2: includes \"engine/eval/good.cpp\"")
  string(FIND "${output}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "expected '${expected}' in:\n${output}")
  endif()
endforeach()
