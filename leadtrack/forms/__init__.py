"""WTForms classes: field-level checks; the domain rules live in the services."""
