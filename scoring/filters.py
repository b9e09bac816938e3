"""Filters and sorting of the list pages (django-filter FilterSets)."""
