"""Identity lifecycle: opaque shared identifiers and how they carry over from one run to the next."""
