"""nbval runs these notebooks where nobody can click a gate card: say so to their kernels.

`01_quickstart.ipynb` leaves its first run's gates to the person working through it; its cell
marked "UNATTENDED RUNS ONLY" confirms them in code only when PRODEX_UNATTENDED is set (kernels
inherit this process's environment).
"""

import os

os.environ.setdefault("PRODEX_UNATTENDED", "1")
