"""The outside world: file formats, import and validation, coordinate systems, storage, config, the demo bundle."""
