"""``python -m hub`` is the ``cashrail`` command."""

from hub.cli.app import main

main()
