"""course.bench_page: `./course bench --lessons X` rewrites X's row and keeps everything else.

docs/benchmarks.md holds rows measured on different days and hand-written text around the block
tools/bench.py writes; a rerun of one lesson must not drop the others' numbers or that text."""
import importlib.util
import pathlib
import sys
import tempfile

repo = pathlib.Path(sys.argv[1])
sys.path.insert(0, str(repo / "tools"))  # bench.py imports lesson_result from beside it
import lesson_result  # noqa: E402
spec = importlib.util.spec_from_file_location("bench", repo / "tools" / "bench.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

cpp = {"lesson": "08_cnn", "epochs": "10", "epoch_time_s": "16.5", "test_acc": "0.9255",
       "train_samples_per_s": "3631", "outside_share": "0.0068"}
py = dict(cpp, epoch_time_s="17", test_acc="0.9241")
lm = {"lesson": "12_transformer", "steps": "400", "train_tokens_per_s": "9000",
      "gpt_val_loss": "5.3888", "kv_cache_speedup": "5.9"}
failures = []
with tempfile.TemporaryDirectory() as tmp:
    page = pathlib.Path(tmp) / "benchmarks.md"
    page.write_text("# Benchmarks\n\nHand-written intro.\n\n## Reading the table\n\nHand-written finding.\n")
    rows, notes, kept = bench.read_page(page)
    rows["08_cnn"] = bench.table_row("08_cnn", "2026-01-01", cpp, py, 1193, 1342, 166.2, 173.1)
    notes["08_cnn"] = bench.note_lines("08_cnn", cpp, py, 2.0)
    bench.write_page(page, 2, "test machine", "2026-01-01", rows, notes, kept, ["08_cnn"])
    # A second run measures only lesson 12.
    rows, notes, kept = bench.read_page(page)
    rows["12_transformer"] = bench.table_row("12_transformer", "2026-02-02", lm,
                                             dict(lm, gpt_val_loss="5.39"), 700, 800, 144.0, 162.0)
    notes["12_transformer"] = bench.note_lines("12_transformer", lm, lm, 7.5)
    bench.write_page(page, 2, "test machine", "2026-02-02", rows, notes, kept, ["12_transformer"])
    text = page.read_text()
    rows, notes, kept = bench.read_page(page)

    def expect(condition, what):
        if not condition:
            failures.append(what)
    expect(set(rows) == {"08_cnn", "12_transformer"}, f"rows kept: {sorted(rows)}")
    expect("| 08_cnn | 2026-01-01 | 16.5 | 17 | 166.2 | 173.1 | 1.03 | test_acc | 0.9255 | 0.9241 |"
           in text, "lesson 08's row from the first run is unchanged")
    expect("| 12_transformer | 2026-02-02 | – | – | 144.0 | 162.0 | 1.12 | gpt_val_loss | 5.389 | 5.39 "
           "| 9,000 tokens/s |" in text, "lesson 12: whole-run ratio, its loss and tokens/s")
    expect("400 steps; load average 7.5 when it ended" in text, "lesson 12's own load average")
    expect("kv_cache_speedup: C++ 5.9" in text, "lesson 12's other RESULT numbers listed")
    expect(text.count("Hand-written intro.") == 1 and text.count("Hand-written finding.") == 1,
           "hand-written text kept once")
    # The GAN's RESULT line: read from the program's output, its quality number is the judge's
    # share of confident samples (the real images' share is listed beside it).
    gan = lesson_result.parse("epoch 5/5 | ...\nRESULT lesson=14_gan epochs=5 confident=0.254 "
                              "real_confident=0.694\nwrote samples.png\n")
    expect(gan == {"lesson": "14_gan", "epochs": "5", "confident": "0.254", "real_confident": "0.694"},
           f"RESULT line parsed: {gan}")
    expect(lesson_result.quality_key(gan) == "confident", "the GAN's quality number")
    expect(lesson_result.parse("no result here\n") == {}, "no RESULT line: empty")
    expect(text.count(bench.BEGIN) == 1 and text.count("## GPU") == 1, "one block, one GPU section")
    # The Chinese page gets the same block and keeps its own text around it.
    twin = pathlib.Path(tmp) / "benchmarks.zh-CN.md"
    expect(not bench.copy_block(page, twin), "no twin: nothing written")
    twin.write_text(f"# 基准测试\n\n手写的介绍。\n\n{bench.BEGIN}\nold\n{bench.END}\n\n## 解读\n\n手写的发现。\n")
    expect(bench.copy_block(page, twin), "the twin's block rewritten")
    block = text.split(bench.BEGIN, 1)[1].split(bench.END, 1)[0]
    twin_text = twin.read_text()
    expect(twin_text.split(bench.BEGIN, 1)[1].split(bench.END, 1)[0] == block,
           "the twin's block is the English block, word for word")
    expect(twin_text.startswith("# 基准测试\n\n手写的介绍。") and twin_text.endswith("## 解读\n\n手写的发现。\n")
           and "old" not in twin_text, "the twin's own text kept, its old block gone")
if failures:
    print("bench page check failed:\n  " + "\n  ".join(failures))
    print(text)
    sys.exit(1)
print("bench page: a partial rerun keeps the other rows and the hand-written text")
