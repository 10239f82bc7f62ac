"""The desk's screens: login, the desk, and the modal dialogs it opens."""
