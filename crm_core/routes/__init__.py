"""HTTP routes of the CRM core, one module per aggregate."""
