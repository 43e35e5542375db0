"""The composition root: what the command line, the headless printer and the window share.

paths (data folder, display), data_folder (opening the store, recovering what a crash left),
coach_run (one coach session: source + session + journal + store + annotations + finish),
batch (many recordings analysed on a process pool or a Dask cluster, into one result table).
"""
