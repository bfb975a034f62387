"""What sits on top of the stores: the ``taskdb`` command, ``taskdb copy`` and the demo."""
