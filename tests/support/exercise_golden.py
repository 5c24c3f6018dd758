"""exercise_golden.py: writing lessons/<lesson>/exercises/golden.json from exercises/golden.py.

The same format as a lesson's golden.json (tests/support/golden.py): named cases, each with the
inputs and the outputs Python PyTorch computed, read in C++ by Golden("<lesson>/exercises").
"""
import golden


def write(lesson, cases):
    """Writes lessons/<lesson>/exercises/golden.json with {case: {"inputs": ..., "outputs": ...}}."""
    path = golden.REPO / "lessons" / lesson / "exercises" / "golden.json"
    document = {"lesson": lesson, "generated_by": f"lessons/{lesson}/exercises/golden.py",
                "cases": golden.encode(cases)}
    path.write_text(golden._dump(document) + "\n")
    print(f"wrote {path.relative_to(golden.REPO)}")
