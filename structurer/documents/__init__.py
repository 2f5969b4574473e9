"""Reading documents from disk (txt in any encoding, HTML, PDF) into text kept exactly as read.
Imports core and settings."""

from structurer.core.sections import split_sections
from structurer.core.text import NormalizedText, normalize
from structurer.documents.reader import DocumentError, read_document

__all__ = ["DocumentError", "NormalizedText", "normalize", "read_document", "split_sections"]
