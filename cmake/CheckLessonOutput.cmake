# Runs one lesson binary and checks its output (ctest calls this through add_lesson()).
#   -DBINARY=path -DARGS="--smoke;..." -DEXPECTED=tests/expected/NN_topic.txt -DWORKDIR=dir
# EXPECTED holds one regular expression per line (lines starting with # are comments); each must
# match somewhere in the combined stdout+stderr, and the binary must exit with 0.
execute_process(COMMAND ${BINARY} ${ARGS}
  WORKING_DIRECTORY ${WORKDIR}
  OUTPUT_VARIABLE out ERROR_VARIABLE out
  RESULT_VARIABLE rc)
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "lesson exited with '${rc}', expected 0")
endif()
file(STRINGS ${EXPECTED} patterns)
set(missing 0)
foreach(pattern IN LISTS patterns)
  if(pattern STREQUAL "" OR pattern MATCHES "^#")
    continue()
  endif()
  if(NOT out MATCHES "${pattern}")
    message(SEND_ERROR "expected output not found: ${pattern}")
    math(EXPR missing "${missing} + 1")
  endif()
endforeach()
if(missing GREATER 0)
  message(FATAL_ERROR "${missing} expected line(s) missing from the output of ${BINARY}")
endif()
