"""Running extraction over many documents: engines (threads, Ray) and accounting."""
