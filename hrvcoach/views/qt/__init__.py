"""The coach window (PySide6 + pyqtgraph). Only views/qt imports Qt."""
