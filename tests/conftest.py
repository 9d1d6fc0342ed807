import os

# the warm engine's fork server fails, not slows down, when a module of its preload list does not
# import (hsp_eval.run.warm.STRICT_ENV); worker processes and command-line runs inherit it
os.environ.setdefault("HSP_EVAL_WARM_STRICT", "1")
