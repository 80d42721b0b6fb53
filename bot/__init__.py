"""studybot: a study bot that prepares engineering teams for LLM interviews."""

import os

# numpy's OpenBLAS starts a thread per core and spins them for every matrix product. The grader's products are
# tiny (an answer's sentences by a question's key points): the threads only burn CPU beside the event loop and
# the other replicas (a quarter of the grader's CPU on 2 cores, same speed). Set before numpy is first imported;
# a deployment that wants otherwise sets the variable itself.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
