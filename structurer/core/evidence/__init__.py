"""Evidence: where a value sits in the text (alignment), whether the span states it, grounding,
plausibility and invented values. Chinese numerals, units, printed dates and zero words are
language support here, not knowledge of any report type. Imports core only."""
