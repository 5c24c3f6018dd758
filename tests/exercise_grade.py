"""exercise_grade.py: runs one exercise's grading (a GoogleTest suite) and checks its verdict.

    exercise_grade.py passes BINARY SUITE          the solution: every test of SUITE passes
    exercise_grade.py fails BINARY SUITE [FILE]    the untouched exercise: its grading REPORTS a
                                                   failed expectation (not a crash, not 0 tests)

ctest runs both for every exercise (cmake/CourseExercises.cmake). "fails" exits 77 (skipped)
when FILE differs from the committed one: a learner working on it, where "untouched" is moot.
"""
import re
import subprocess
import sys


def changed_from_git(path):
    """True when git knows the file and it differs from HEAD; False otherwise (no git too)."""
    try:
        known = subprocess.run(["git", "ls-files", "--error-unmatch", path], capture_output=True,
                               cwd=path.rsplit("/", 1)[0])
        if known.returncode != 0:
            return False
        diff = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", path],
                              capture_output=True, cwd=path.rsplit("/", 1)[0])
        return diff.returncode == 1
    except OSError:
        return False


def main():
    mode, binary, suite = sys.argv[1:4]
    if mode == "fails" and len(sys.argv) > 4 and changed_from_git(sys.argv[4]):
        print(f"skipped: {sys.argv[4]} differs from git HEAD (a learner's work), so the untouched "
              "exercise cannot be graded here")
        return 77
    run = subprocess.run([binary, f"--gtest_filter={suite}.*"], capture_output=True, text=True)
    output = run.stdout + run.stderr
    print(output)
    ran = re.search(r"\[==========\] Running (\d+) tests?", output)
    count = int(ran.group(1)) if ran else 0
    if count == 0:
        print(f"FAIL: no test of suite {suite} ran")
        return 1
    if run.returncode < 0 or run.returncode > 1:
        print(f"FAIL: the grading ended with code {run.returncode} (a crash, not a verdict)")
        return 1
    if mode == "passes":
        if run.returncode == 0 and f"[  PASSED  ] {count} test" in output:
            print(f"OK: the solution passes all {count} tests of {suite}")
            return 0
        print(f"FAIL: the solution does not pass {suite}")
        return 1
    # mode == "fails": gtest reports each failed expectation as "file:line: Failure".
    reported = re.search(r":\d+: Failure$", output, re.MULTILINE)
    if run.returncode == 1 and reported and "[  FAILED  ]" in output:
        print(f"OK: the untouched exercise fails {suite} with a reported expectation")
        return 0
    print(f"FAIL: the untouched exercise does not fail {suite} with a reported expectation")
    return 1


if __name__ == "__main__":
    sys.exit(main())
