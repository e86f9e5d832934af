"""The shared core: errors, table schemas, periods and file I/O used by every stage."""
