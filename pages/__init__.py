"""The dashboard pages: one thin file per page (widgets, layout, cache wrappers); computation lives in service/."""
