"""``botkit data import``: read a dataset's rows (one module per format), join books and trades on
time (:mod:`.joiner`), write snapshots through the snapshot files' own writers."""
