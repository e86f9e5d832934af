"""Shells: the command line (and later the REST API) over the library."""
