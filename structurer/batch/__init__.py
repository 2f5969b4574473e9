"""A run over many documents: paths, settings hash, run rows, engines (threads, ray), accounting,
export. Imports core, llm, documents, confidence and store."""
