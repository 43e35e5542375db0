"""The ground floor: beats and status records, errors, constants, clocks and the marker catalogue.

Imports nothing else from hrvcoach; everything else may import it.
"""
