"""Other programs on taskdb's stores, each in a module of its own that only an import loads.

- ``taskdb.integrations.mephisto``: ``TaskdbMephistoDB``, a Mephisto ``MephistoDB`` on
  the crowd store (needs the ``taskdb[mephisto]`` extra).

``import taskdb`` never imports them, nor the programs they adapt.
"""
