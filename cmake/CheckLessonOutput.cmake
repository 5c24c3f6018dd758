# Runs one lesson binary and checks its output (ctest lesson.NN_topic, from add_lesson()).
#   cmake -DBINARY=path/to/NN_topic -DEXPECTED=lessons/NN_topic/expected.txt -DWORKDIR=dir -P ...
#
# expected.txt (docs/writing-a-lesson.md):
#   # comment lines start with #; blank lines are skipped
#   $ 08_cnn --smoke --threads 2          the command: the lesson's name, then its arguments
#   == 08_cnn \| LibTorch [0-9.]+ .*       then one regular expression per line of output
#
# The binary runs from WORKDIR with those arguments, then EXTRA_ARGS if given (a CMake list:
# tools/gpu-check passes -DEXTRA_ARGS=--device;cpu on a GPU machine, where the default device
# would be the GPU), plus --out WORKDIR/out (emptied first) and
# must exit with 0. Each pattern must match one WHOLE line of its standard output (as if between
# ^ and $), and the patterns must match in their order: pattern k is looked for after the line
# that pattern k-1 matched. Lines in between are free. Standard error is shown, not matched.
cmake_minimum_required(VERSION 3.22)

# Reads EXPECTED into two variables: command (the words after "$ ") and patterns (a count, with
# pattern_1, pattern_2, ... set in the caller's scope). Line by line with string(FIND), never
# through a CMake list: list splitting treats ; [ and ] specially.
# Takes the first line off the text in `text_var` into `line_var`.
function(pop_line text_var line_var)
  string(FIND "${${text_var}}" "\n" end)
  if(end EQUAL -1)
    set(${line_var} "${${text_var}}" PARENT_SCOPE)
    set(${text_var} "" PARENT_SCOPE)
  else()
    string(SUBSTRING "${${text_var}}" 0 ${end} line)
    math(EXPR next "${end} + 1")
    string(SUBSTRING "${${text_var}}" ${next} -1 rest)
    set(${line_var} "${line}" PARENT_SCOPE)
    set(${text_var} "${rest}" PARENT_SCOPE)
  endif()
endfunction()

file(READ ${EXPECTED} text)
set(command "")
set(count 0)
while(NOT text STREQUAL "")
  pop_line(text line)
  if(line STREQUAL "" OR line MATCHES "^#")
    continue()
  endif()
  if(line MATCHES "^\\$ (.*)$")
    if(NOT command STREQUAL "" OR count GREATER 0)
      message(FATAL_ERROR "${EXPECTED}: the '$ ' command line must come once, before the patterns")
    endif()
    set(command "${CMAKE_MATCH_1}")
    continue()
  endif()
  if(command STREQUAL "")
    message(FATAL_ERROR "${EXPECTED}: the first line that is not a comment must be the command, "
                        "'$ <lesson> <arguments>'")
  endif()
  # A pattern must say something: with its regex syntax and character classes removed, at least
  # two letters or digits remain (".*" or "[0-9]+" alone would match nearly any line).
  string(REGEX REPLACE "\\[[^]]*\\]|\\\\.|[][().*+?|^$]" "" literal "${line}")
  string(REGEX REPLACE "[^A-Za-z0-9]" "" literal "${literal}")
  string(LENGTH "${literal}" literal_length)
  if(literal_length LESS 2)
    message(FATAL_ERROR "${EXPECTED}: the pattern '${line}' matches nearly anything; "
                        "write out the text the line must hold")
  endif()
  math(EXPR count "${count} + 1")
  set(pattern_${count} "${line}")
endwhile()
if(count EQUAL 0)
  message(FATAL_ERROR "${EXPECTED} has no patterns: a check that checks nothing")
endif()

separate_arguments(arguments UNIX_COMMAND "${command}")
list(POP_FRONT arguments program)
get_filename_component(binary_name ${BINARY} NAME)
if(NOT program STREQUAL binary_name)
  message(FATAL_ERROR "${EXPECTED}: the command runs '${program}', but this lesson's binary is "
                      "'${binary_name}'")
endif()

file(REMOVE_RECURSE ${WORKDIR}/out)
file(MAKE_DIRECTORY ${WORKDIR})
execute_process(COMMAND ${BINARY} ${arguments} ${EXTRA_ARGS} --out ${WORKDIR}/out
  WORKING_DIRECTORY ${WORKDIR}
  OUTPUT_VARIABLE out ERROR_VARIABLE err
  RESULT_VARIABLE rc)
message("$ ${command}\n${out}")
if(NOT err STREQUAL "")
  message("---- standard error ----\n${err}")
endif()
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the lesson exited with '${rc}', expected 0")
endif()

# Match in order, consuming the output line by line.
set(rest "${out}")
set(line_number 0)
foreach(k RANGE 1 ${count})
  set(pattern "${pattern_${k}}")
  set(found FALSE)
  while(NOT rest STREQUAL "")
    pop_line(rest line)
    math(EXPR line_number "${line_number} + 1")
    if(line MATCHES "^(${pattern})$")
      set(found TRUE)
      break()
    endif()
  endwhile()
  if(NOT found)
    math(EXPR previous "${k} - 1")
    if(previous EQUAL 0)
      set(where "in the output")
    else()
      set(where "after the line that pattern ${previous} ('${pattern_${previous}}') matched")
    endif()
    message(FATAL_ERROR "pattern ${k} of ${EXPECTED} matches no whole line ${where}:\n"
                        "  ${pattern}")
  endif()
endforeach()
message("all ${count} patterns of ${EXPECTED} matched, in order")
