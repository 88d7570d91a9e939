"""The diffusion explorer: small generative models of 28×28 images, and the app that shows them.

Importing the package sets one process-wide default before torch loads: OpenMP threads that wait
sleep instead of spinning (OMP_WAIT_POLICY=PASSIVE). On a busy 2-core machine, spinning threads made
one U-Net call ~50× slower (2.3 s instead of 47 ms at batch 16); an explicit setting is kept.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
