"""LGSP hub core: plain Python, no nameko, no connector or transform named here."""
