"""Model implementations of `structurer.core.model.Model`: instructor over openai (`client`), the
reply cache, fakes for tests, and the embedded llama.cpp server (`embedded`). Imports core,
settings, store and the service helper (`structurer.service`)."""
