"""lesson_result.py: the RESULT line every training lesson prints last (docs/writing-a-lesson.md),
read in one place for bench.py and gpu-check.

    RESULT lesson=08_cnn epochs=3 epoch_time_s=16.5 test_acc=0.9255 ...
"""

# The number that says how well a lesson learned, in the order looked for: accuracy (05, 07-10),
# validation loss (11, 12), the VAE's ELBO (13), the judge's share of confident GAN samples (14),
# the regression's MSE (04).
QUALITY_KEYS = ["test_acc", "gpt_val_loss", "val_loss", "vae_test_elbo", "confident", "final_mse"]


def parse(output):
    """The first RESULT line of a program's output as {key: value}; {} when there is none."""
    for line in output.splitlines():
        if line.startswith("RESULT "):
            return dict(field.partition("=")[::2] for field in line.split()[1:])
    return {}


def quality_key(result):
    """Which of QUALITY_KEYS this result carries, or None."""
    return next((key for key in QUALITY_KEYS if key in result), None)
