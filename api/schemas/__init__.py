"""Request and response models of the API, one module per resource (import from the module itself)."""
