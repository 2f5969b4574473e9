"""The one error of reading a document: its message is one line and names the file."""


class DocumentError(ValueError):
    """A document cannot be read. The message is one line and names the file."""


class NoTextLayer(DocumentError):
    """A PDF of page images without text: readable only by OCR."""
