"""The demo county: places, catalogues and a builder (used by `manage.py load_demo`)."""
