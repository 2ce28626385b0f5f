"""The ``cashrail`` command line: ``app`` is the root and registers every group; ``common``
holds what the commands share; each other module is one noun's commands and imports only
``common`` and the services. Nothing outside this package imports it but the entry points."""
