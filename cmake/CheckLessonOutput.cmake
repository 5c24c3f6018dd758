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
# Line by line, not through a CMake list: list splitting treats [ and ] as brackets, so one line
# with an unbalanced [ (in a regex or a comment) would swallow every line after it.
file(READ ${EXPECTED} text)
set(missing 0)
set(checked 0)
while(NOT text STREQUAL "")
  string(FIND "${text}" "\n" end)
  if(end EQUAL -1)
    set(pattern "${text}")
    set(text "")
  else()
    string(SUBSTRING "${text}" 0 ${end} pattern)
    math(EXPR next "${end} + 1")
    string(SUBSTRING "${text}" ${next} -1 text)
  endif()
  if(pattern STREQUAL "" OR pattern MATCHES "^#")
    continue()
  endif()
  math(EXPR checked "${checked} + 1")
  if(NOT out MATCHES "${pattern}")
    message(SEND_ERROR "expected output not found: ${pattern}")
    math(EXPR missing "${missing} + 1")
  endif()
endwhile()
if(checked EQUAL 0)
  message(FATAL_ERROR "${EXPECTED} has no patterns: a check that checks nothing")
endif()
if(missing GREATER 0)
  message(FATAL_ERROR "${missing} expected line(s) missing from the output of ${BINARY}")
endif()
