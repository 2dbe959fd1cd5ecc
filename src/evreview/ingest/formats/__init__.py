"""Format readers, one module per export format.

Every module here is imported on first use and registers its reader(s) with
``@evreview.ingest.registry.register``. To support a new export, add a module.
"""
