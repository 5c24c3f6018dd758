# ctest course.output_check: the lesson output checker (cmake/CheckLessonOutput.cmake) must fail a
# wrong output, not only pass a right one. A fake lesson (a shell script) prints fixed lines; each
# case gives it an expected.txt and says whether the check must pass.
#   cmake -DCHECKER=.../CheckLessonOutput.cmake -DWORKDIR=scratch -P check_output_checker.cmake
file(REMOVE_RECURSE ${WORKDIR})
file(MAKE_DIRECTORY ${WORKDIR})
set(fake ${WORKDIR}/99_fake)
file(WRITE ${fake} "#!/bin/sh
echo 'epoch 1/2 loss 2.30'
echo 'epoch 2/2 loss 0.41'
echo 'in 1.2 s, outside_share 0.03'
echo 'RESULT lesson=99_fake test_acc=0.91'
exit \${FAKE_EXIT:-0}
")
file(CHMOD ${fake} PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)

set(failures 0)
function(check name must_pass text)
  file(WRITE ${WORKDIR}/${name}.txt "${text}")
  execute_process(COMMAND ${CMAKE_COMMAND} -DBINARY=${fake} -DEXPECTED=${WORKDIR}/${name}.txt
                          -DWORKDIR=${WORKDIR}/run -P ${CHECKER}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(rc EQUAL 0)
    set(passed TRUE)
  else()
    set(passed FALSE)
  endif()
  if(NOT passed STREQUAL must_pass)
    message(SEND_ERROR "case '${name}': the check passed=${passed}, expected ${must_pass}\n${out}")
    math(EXPR failures "${failures} + 1")
    set(failures ${failures} PARENT_SCOPE)
  else()
    message("ok: ${name} (passed=${passed})")
  endif()
endfunction()

check(right TRUE "# comment\n$ 99_fake --smoke\nepoch 1/2 loss [0-9.]+\nRESULT lesson=99_fake test_acc=0\\.9[0-9]\n")
check(lines_may_be_skipped TRUE "$ 99_fake\nepoch 2/2 loss 0\\.41\n")
# '.' must not cross a line: "in .*out" here would span 'in 1.2 s, outside...' only within a line.
check(no_crossing_lines FALSE "$ 99_fake\nepoch 1/2 .*outside_share\n")
# A pattern matches a whole line, not a piece of one.
check(whole_lines FALSE "$ 99_fake\nloss 2\\.30\n")
check(in_order FALSE "$ 99_fake\nepoch 2/2 loss [0-9.]+\nepoch 1/2 loss [0-9.]+\n")
check(missing_line FALSE "$ 99_fake\nepoch 3/2 loss [0-9.]+\n")
check(empty_pattern_file FALSE "$ 99_fake\n# nothing\n")
check(pattern_that_says_nothing FALSE "$ 99_fake\n.*\n")
check(no_command FALSE "epoch 1/2 loss [0-9.]+\n")
check(other_binary FALSE "$ 98_other\nepoch 1/2 loss [0-9.]+\n")
set(ENV{FAKE_EXIT} 1)
check(exit_code FALSE "$ 99_fake\nepoch 1/2 loss [0-9.]+\n")
unset(ENV{FAKE_EXIT})
if(failures GREATER 0)
  message(FATAL_ERROR "${failures} case(s) of the output checker went the wrong way")
endif()
