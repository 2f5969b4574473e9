"""The plain types, record utilities, the report-type contract, the model interface, response
models, text sections, evidence, reconciliation and the extraction pipeline. Imports only
`structurer.settings`; nothing else of the project."""
