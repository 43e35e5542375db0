"""Views: the command line, the headless printer and the coach window. Nothing imports views."""
