"""My work: what needs the signed-in person now, across the channels.

Shape: no `models.py`, because nothing is stored here (every item is a view of a record that lives in its
channel); no `queries.py`, because service.py is all reads, each through its channel's readable statement;
no `tasks.py`, because nothing runs in the background.
"""
