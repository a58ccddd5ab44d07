"""Pure data model shared by every layer: no I/O, no clock, no global randomness."""
