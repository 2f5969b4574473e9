"""Reading documents from disk, normalising their text, and splitting it into sections."""

from structurer.documents.normalize import NormalizedText, normalize
from structurer.documents.reader import DocumentError, read_document
from structurer.documents.sections import split_sections

__all__ = ["DocumentError", "NormalizedText", "normalize", "read_document", "split_sections"]
