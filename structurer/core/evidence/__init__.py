"""Evidence: aligning quotes with the text (align), locating a value's span (locate),
checking a value against a span (value_check) and grounding an LLM reply in the text
(grounding). Pure functions over core types."""
