"""The command lines (thin: parse options, call the library, print)."""
