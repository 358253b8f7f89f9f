"""``python -m igm_lite.bench ...``: see ``igm_lite.bench``."""
from .cli import main

main()
