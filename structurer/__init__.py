"""structurer: strict, validated records from report texts, with people in the loop."""

__version__ = "0.1.0"
