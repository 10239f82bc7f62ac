"""CRM core: the client base (clients, contacts, phones, regions) and its pure rules."""
