"""The diffusion explorer: small generative models of 28×28 images, and the app that shows them.

Importing the package sets one process-wide default before torch loads: OpenMP threads that finish
their work spin only briefly (GOMP_SPINCOUNT=1000) before they sleep. Measured on the 2-core machine,
one guided U-Net call at batch 16: libgomp's default spin gives 50 ms alone but 2.3 s when two
processes share the cores; never spinning (OMP_WAIT_POLICY=PASSIVE) gives 91 ms shared but 59 ms
alone and triples a batch-1 call (16 ms instead of 5 ms); a short spin gives 50 ms alone and 96 ms
shared. An explicit setting in the environment is kept.
"""

import os

if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "1000")
