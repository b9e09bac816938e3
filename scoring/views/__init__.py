"""Scoring pages, one module per page area (zulip's views/<area>.py); urls.py names them."""
