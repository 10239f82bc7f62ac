"""Call tracking: AMI events in, calls out (``tracker.CallTracker``, updates in ``model``)."""
