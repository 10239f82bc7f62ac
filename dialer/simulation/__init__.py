"""Discrete-event simulation of a dialing campaign day: clients, engine, modes, clairvoyant bound."""
