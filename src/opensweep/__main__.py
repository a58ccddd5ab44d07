"""``python -m opensweep`` is the ``opensweep`` command."""

from opensweep.cli.main import main

main()
