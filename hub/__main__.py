"""``python -m hub`` is the ``cashrail`` command."""

from hub.cli import main

main()
