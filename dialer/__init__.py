"""Campaigns at run time: leases, calling windows, DNC, retries, pacing, dialing modes."""
